// One source for the refresher's defaults, limits and dialect names (README, "Configuration"): the
// Lambda's environment parser (lambda/config.ts), the CDK config file loader (infra/config.ts) and the
// construct (infra/token-refresher/) all read them here. It imports nothing, so the construct loads no
// HTTP client and no AWS SDK through it.

/** Token API dialects the refresher speaks. */
export const DIALECTS = ["iot", "oauth2", "client_credentials"] as const;
export type DialectName = (typeof DIALECTS)[number];
export const DEFAULT_DIALECT: DialectName = "iot";

/** The dialects that call an OAuth2 token endpoint: the OAUTH2_* settings apply to them (README, "OAuth2 dialect"). */
export const OAUTH2_DIALECTS: readonly DialectName[] = ["oauth2", "client_credentials"];

/**
 * Whether a dialect's pairs carry a refresh token. Where they do, a stored pair without one is due at
 * once (IoT logs in, OAuth2 needs a person); a `client_credentials` token has none (RFC 6749 §4.4.3)
 * and is due only when its access token is.
 */
export function usesRefreshToken(dialect: DialectName): boolean {
  return dialect !== "client_credentials";
}

/** How an OAuth2 client authenticates at the token endpoint (RFC 6749 §2.3.1). */
export const OAUTH2_CLIENT_AUTH_METHODS = ["client_secret_post", "client_secret_basic"] as const;
export type OAuth2ClientAuth = (typeof OAUTH2_CLIENT_AUTH_METHODS)[number];
/** The form fields, as Huawei documents it. */
export const DEFAULT_OAUTH2_CLIENT_AUTH: OAuth2ClientAuth = "client_secret_post";
/** Longest `scope` or `audience` sent with an OAuth2 grant. */
export const MAX_OAUTH2_PARAMETER_CHARS = 1_024;
/** RFC 6749 §3.3: scope tokens of visible ASCII except `"` and `\`, separated by single spaces. */
const OAUTH2_SCOPE = /^[\x21\x23-\x5b\x5d-\x7e]+(?: [\x21\x23-\x5b\x5d-\x7e]+)*$/;
/** An audience is one identifier (often a URL): visible ASCII, no space. */
const OAUTH2_AUDIENCE = /^[\x21-\x7e]+$/;

/** Why `value` is no valid OAuth2 `scope` or `audience`, or undefined when it is. */
export function oauth2ParameterProblem(parameter: "scope" | "audience", value: string): string | undefined {
  if (value.length > MAX_OAUTH2_PARAMETER_CHARS) return `must be at most ${MAX_OAUTH2_PARAMETER_CHARS} characters`;
  if (parameter === "scope" && !OAUTH2_SCOPE.test(value)) return "must be scope tokens of visible ASCII (no \" or \\) separated by single spaces";
  if (parameter === "audience" && !OAUTH2_AUDIENCE.test(value)) return "must be visible ASCII without spaces";
  return undefined;
}

/** The OAuth2 options set in the environment (OAUTH2_CLIENT_AUTH, OAUTH2_SCOPE, OAUTH2_AUDIENCE), the CDK props or the client secret. */
export interface OAuth2Options {
  readonly clientAuth?: OAuth2ClientAuth;
  readonly scope?: string;
  readonly audience?: string;
}

/**
 * The options that are set, checked. `invalid` makes the error for a bad one, so each source names
 * it its own way (a variable, a prop, a client secret field).
 */
export function checkOAuth2Options(
  values: { readonly clientAuth?: string | undefined; readonly scope?: string | undefined; readonly audience?: string | undefined },
  invalid: (option: keyof OAuth2Options, problem: string) => Error,
): OAuth2Options {
  const checked: { clientAuth?: OAuth2ClientAuth; scope?: string; audience?: string } = {};
  if (values.clientAuth !== undefined) {
    const method = OAUTH2_CLIENT_AUTH_METHODS.find((known) => known === values.clientAuth);
    if (!method) throw invalid("clientAuth", `must be one of ${OAUTH2_CLIENT_AUTH_METHODS.join(", ")}, got "${values.clientAuth}"`);
    checked.clientAuth = method;
  }
  for (const name of ["scope", "audience"] as const) {
    const value = values[name];
    if (value === undefined) continue;
    const problem = oauth2ParameterProblem(name, value);
    if (problem) throw invalid(name, problem);
    checked[name] = value;
  }
  return checked;
}

/** A whole-number setting: its default and the range it must lie in, both ends included. */
export interface Limit {
  readonly default: number;
  readonly min: number;
  readonly max: number;
}

/** The handler's numeric settings, by environment variable (README, "Configuration"). */
export const HANDLER_LIMITS = {
  /** Refresh when the access token has this many seconds left or fewer. */
  REFRESH_WINDOW_SECONDS: { default: 900, min: 0, max: 86_400 },
  /** Timeout of one HTTP attempt against the token API. */
  HTTP_TIMEOUT_MS: { default: 5_000, min: 100, max: 120_000 },
  /** The whole run (all attempts and backoff) ends within this budget. */
  RUN_BUDGET_MS: { default: 25_000, min: 1_000, max: 600_000 },
  /** A run's lease in the state table; a crashed run's lease expires after this. */
  LEASE_SECONDS: { default: 120, min: 1, max: 3_600 },
  /** OAuth2 lifetime assumed when a token response has no `expires_in`. */
  DEFAULT_EXPIRES_IN_SECONDS: { default: 3_600, min: 60, max: 31_536_000 },
  /** Timeout of one AWS request (Secrets Manager, DynamoDB, EventBridge). */
  AWS_REQUEST_TIMEOUT_MS: { default: 3_000, min: 100, max: 30_000 },
} as const satisfies Record<string, Limit>;
export type HandlerLimitName = keyof typeof HANDLER_LIMITS;

/** The deployment's numeric settings: the construct's props and the CDK configuration file. */
export const DEPLOYMENT_LIMITS = {
  /** Lambda timeout; the run budget and the lease derive from it. */
  timeoutSeconds: { default: 40, min: 20, max: 900 },
  /** Lambda memory (see the README's "Design notes and measurements"). */
  memorySizeMb: { default: 256, min: 128, max: 10_240 },
  /** Interval of the rate schedule; alarms evaluate two intervals and CloudWatch allows one day. */
  scheduleMinutes: { default: 5, min: 1, max: 720 },
} as const satisfies Record<string, Limit>;

/**
 * The state table's partition key and TTL attribute: the handler's reads and writes and the stack's
 * table (README, "What one credential creates").
 */
export const STATE_KEY = "credential";
export const STATE_TTL_ATTRIBUTE = "ttl";

/**
 * The last part of the Lambda timeout, after the run budget (`RUN_BUDGET_MS` = timeout - this): the
 * retried write of a pair the platform issued, the event and the report (README, "Design notes").
 * Also the write time the CLI and `npm start` allow when no Lambda context says how much is left.
 */
export const WRITE_GRACE_MS = 15_000;

export const DEFAULT_OAUTH2_TOKEN_PATH = "/api/v1/oauth2/token";
export const DEFAULT_METRICS_NAMESPACE = "TokenRefresher";
/** EventBridge bus the handler publishes to when EVENT_BUS_NAME is unset; an empty value disables events. */
export const DEFAULT_EVENT_BUS_NAME = "default";

/** Why `value` is not a whole number within `limit`, or undefined when it is. */
export function limitProblem(limit: Limit, value: number): string | undefined {
  if (!Number.isInteger(value)) return `must be a whole number, got ${value}`;
  if (value < limit.min || value > limit.max) return `must be between ${limit.min} and ${limit.max}, got ${value}`;
  return undefined;
}
