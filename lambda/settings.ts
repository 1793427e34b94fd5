// Constants the settings table (lambda/config/table.ts) and the runtime share: the dialects, the
// state table's shape, the token limits and how a Lambda timeout is split. It imports nothing, so the
// construct loads no HTTP client and no AWS SDK through it. Every setting's default and limits live
// in the table (docs/configuration.md).

/** Token API dialects the refresher speaks. */
export const DIALECTS = ["iot", "oauth2", "client_credentials"] as const;
export type DialectName = (typeof DIALECTS)[number];

/** The dialects that call an OAuth2 token endpoint: the OAuth2 settings apply to them (docs/oauth2.md). */
export const OAUTH2_DIALECTS = ["oauth2", "client_credentials"] as const satisfies readonly DialectName[];
export type OAuth2DialectName = (typeof OAUTH2_DIALECTS)[number];

export function isOAuth2Dialect(dialect: DialectName): dialect is OAuth2DialectName {
  return (OAUTH2_DIALECTS as readonly DialectName[]).includes(dialect);
}

/**
 * The dialects whose pairs carry a refresh token. Where they do, a stored pair without one is due at
 * once (IoT logs in, OAuth2 needs a person); a `client_credentials` token has none (RFC 6749 §4.4.3)
 * and is due only when its access token is.
 */
export const REFRESH_TOKEN_DIALECTS = ["iot", "oauth2"] as const satisfies readonly DialectName[];

export function usesRefreshToken(dialect: DialectName): boolean {
  return (REFRESH_TOKEN_DIALECTS as readonly DialectName[]).includes(dialect);
}

/** How an OAuth2 client authenticates at the token endpoint (RFC 6749 §2.3.1). */
export const OAUTH2_CLIENT_AUTH_METHODS = ["client_secret_post", "client_secret_basic"] as const;
export type OAuth2ClientAuth = (typeof OAUTH2_CLIENT_AUTH_METHODS)[number];
/** The form fields, as Huawei documents it. */
export const DEFAULT_OAUTH2_CLIENT_AUTH: OAuth2ClientAuth = "client_secret_post";
/** Huawei's OAuth2 token path. */
export const DEFAULT_OAUTH2_TOKEN_PATH = "/api/v1/oauth2/token";

/** Longest access or refresh token the token secret holds and `init` accepts: IoT documents 256 characters; JWTs from OAuth2 servers run to a few KiB. */
export const MAX_TOKEN_CHARS = 8_192;
/** Longest `scope` (or `audience`) a grant sends or a token secret holds. */
export const MAX_SCOPE_CHARS = 1_024;

/**
 * The state table's partition key and TTL attribute: the handler's reads and writes and the stack's
 * table (docs/protocol.md).
 */
export const STATE_KEY = "credential";
export const STATE_TTL_ATTRIBUTE = "ttl";

/**
 * The last part of the Lambda timeout, after the run budget (run budget = timeout - this): the
 * retried write of a pair the platform issued, the event and the report (docs/design.md, "Timeout"). Also the
 * write time the CLI and `npm start` allow when no Lambda context says how much is left.
 */
export const RUN_BUDGET_RESERVE_SECONDS = 15;
export const WRITE_GRACE_MS = RUN_BUDGET_RESERVE_SECONDS * 1000;
/** How much longer than the whole invocation a run's lease lasts, so a live run never loses it. */
export const LEASE_MARGIN_SECONDS = 60;

/**
 * A fleet's registry table (docs/fleet.md, "Registry item"): one item per credential under the
 * partition key `credential`; the sparse index `due` over (`dueShard`, `nextDueAt`) holds only active
 * credentials, spread over `DUE_SHARDS` shards. Write-budget items (`#budget#<epoch second>`) expire
 * through the TTL attribute.
 */
export const REGISTRY_KEY = "credential";
export const DUE_INDEX = "due";
export const DUE_SHARD_ATTRIBUTE = "dueShard";
export const NEXT_DUE_AT_ATTRIBUTE = "nextDueAt";
export const DUE_SHARDS = 8;
export const REGISTRY_TTL_ATTRIBUTE = "ttl";
/** Key prefix of the registry's write-budget items, `#budget#<epoch second>` (no credential name has a `#`). */
export const WRITE_BUDGET_KEY_PREFIX = "#budget#";

/**
 * The tags of a fleet's secrets, and the one session tag of a run (docs/fleet.md, "Isolation"): the run
 * role's policies compare the secret's `TokenRefresherCredential` tag with the session's.
 */
export const FLEET_TAG = {
  fleet: "TokenRefresherFleet",
  credential: "TokenRefresherCredential",
  secret: "TokenRefresherSecret",
} as const;
