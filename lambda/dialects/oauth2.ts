import type { RefresherConfig } from "../config.js";
import { ConfigError, PlatformError, type FailureOutcome } from "../errors.js";
import { HttpClient, type HttpAnswer } from "../http/client.js";
import type { Deadline } from "../refresh/deadline.js";
import { credentialField, tlsMaterial } from "../secrets/client-secret.js";
import type { SecretObject } from "../secrets/fields.js";
import { GrantReader } from "./grant.js";
import type { TokenDialect, TokenGrant } from "./types.js";

/** The configuration the OAuth2 dialect reads. */
export type OAuth2DialectConfig = Pick<RefresherConfig, "endpointUrl" | "oauth2TokenPath" | "defaultExpiresInSeconds" | "httpTimeoutMs">;

/** OAuth2 `error` codes that mean the refresh token or the client credentials are no longer accepted. */
export const REJECTED_CREDENTIAL_ERRORS: ReadonlySet<string> = new Set(["invalid_grant", "invalid_client", "unauthorized_client"]);

const WHERE = "OAuth2 token endpoint";
const MAX_DESCRIPTION_CHARS = 200;
const REDACTED = "[redacted]";

/**
 * OAuth2 `refresh_token` grant (RFC 6749 §6) with client_secret_post authentication: one
 * form-encoded POST of `grant_type`, `refresh_token`, `client_id`, `client_secret` to the token
 * endpoint. There is no bootstrap: the first refresh token comes from a person authorizing once.
 */
export function createOAuth2Dialect(config: OAuth2DialectConfig, clientSecret: SecretObject): TokenDialect {
  const clientId = credentialField(clientSecret, "clientId");
  const secret = credentialField(clientSecret, "clientSecret", 1_024);
  const tokenUrl = oauth2TokenUrl(config.endpointUrl, config.oauth2TokenPath);
  const http = new HttpClient(tlsMaterial(clientSecret), config.httpTimeoutMs);

  return {
    async refresh(refreshToken: string, deadline: Deadline): Promise<TokenGrant> {
      const answer = await http.post(
        tokenUrl,
        { form: { grant_type: "refresh_token", refresh_token: refreshToken, client_id: clientId, client_secret: secret } },
        deadline,
      );
      if (answer.status !== 200) throw oauth2Error(answer, [refreshToken, secret]);
      return readTokenResponse(answer.json, refreshToken, config.defaultExpiresInSeconds);
    },
    close: () => http.close(),
  };
}

/**
 * The token endpoint URL: an absolute `https://` URL is used as it is; a path is appended to
 * `endpointUrl` (so a base path in `endpointUrl`, e.g. `https://gw.example.com/tenant`, is kept).
 */
export function oauth2TokenUrl(endpointUrl: string, tokenPath: string): string {
  const path = tokenPath.trim();
  let url: URL;
  try {
    url = /^[a-z][a-z0-9+.-]*:/i.test(path)
      ? new URL(path)
      : new URL(`${endpointUrl.replace(/\/+$/, "")}/${path.replace(/^\/+/, "")}`);
  } catch {
    throw new ConfigError(`OAUTH2_TOKEN_PATH "${path}" does not make a valid URL with ENDPOINT_URL`);
  }
  if (url.protocol !== "https:") throw new ConfigError(`OAUTH2_TOKEN_PATH must use https://, got "${url.protocol}"`);
  if (url.username || url.password) throw new ConfigError("OAUTH2_TOKEN_PATH must not contain credentials");
  return url.toString();
}

/**
 * Validates a 200 answer. Without `refresh_token` the server did not rotate: the old one stays
 * valid (RFC 6749 §6) and is kept. Without `expires_in`, `defaultExpiresInSeconds` applies.
 */
export function readTokenResponse(json: unknown, previousRefreshToken: string, defaultExpiresInSeconds: number): TokenGrant {
  const grant = new GrantReader(WHERE, json);
  return {
    accessToken: grant.token("access_token"),
    refreshToken: grant.has("refresh_token") ? grant.token("refresh_token") : previousRefreshToken,
    tokenType: grant.optionalText("token_type") ?? "Bearer",
    scope: grant.optionalText("scope"),
    expiresInSeconds: grant.has("expires_in") ? grant.seconds("expires_in") : defaultExpiresInSeconds,
  };
}

/**
 * Maps an error answer onto the spec's error table: `invalid_grant`, `invalid_client`,
 * `unauthorized_client` (400 or 401) → CredentialRejected; 5xx, 429 and `temporarily_unavailable`
 * → retryable; any other answer → RefreshFailed with the `error` code. `secrets` are removed from
 * the server's `error_description` in case it quotes them.
 */
export function oauth2Error(answer: HttpAnswer, secrets: readonly string[] = []): PlatformError {
  const body = typeof answer.json === "object" && answer.json !== null && !Array.isArray(answer.json) ? (answer.json as Record<string, unknown>) : {};
  const code = errorCode(body.error);
  const description = errorDescription(body.error_description, secrets);
  const status = answer.status;
  let outcome: FailureOutcome = "RefreshFailed";
  if ((status === 400 || status === 401) && code !== undefined && REJECTED_CREDENTIAL_ERRORS.has(code)) outcome = "CredentialRejected";
  const retryable = outcome === "RefreshFailed" && (status >= 500 || status === 429 || code === "temporarily_unavailable");
  const detail = [code, description].filter(Boolean).join(": ");
  return new PlatformError(`${WHERE} answered HTTP ${status}${detail ? ` ${detail}` : ""}`, {
    outcome,
    retryable,
    httpStatus: status,
    errorCode: code,
  });
}

/** RFC 6749 §5.2 error codes are printable ASCII; anything else is not quoted. */
function errorCode(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  const code = value.trim();
  return /^[\x20-\x21\x23-\x5b\x5d-\x7e]{1,64}$/.test(code) ? code : undefined;
}

function errorDescription(value: unknown, secrets: readonly string[]): string | undefined {
  if (typeof value !== "string") return undefined;
  let text = value;
  for (const secret of secrets) if (secret) text = text.split(secret).join(REDACTED);
  // eslint-disable-next-line no-control-regex -- a description is one line of printable text
  text = text.replace(/[\u0000-\u001f\u007f]+/g, " ").trim();
  if (!text) return undefined;
  return text.length > MAX_DESCRIPTION_CHARS ? `${text.slice(0, MAX_DESCRIPTION_CHARS)}…` : text;
}
