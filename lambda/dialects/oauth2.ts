import type { RefresherConfig } from "../config.js";
import { ConfigError } from "../errors.js";
import { OAuth2TokenClient } from "../oauth2/token-client.js";
import type { SecretObject } from "../secrets/fields.js";
import { toTokenGrant } from "./grant.js";
import type { TokenDialect } from "./types.js";

/** The configuration the OAuth2 dialect reads. */
export type OAuth2DialectConfig = Pick<RefresherConfig, "endpointUrl" | "oauth2TokenPath" | "defaultExpiresInSeconds" | "httpTimeoutMs">;

/**
 * OAuth2 `refresh_token` grant with client_secret_post authentication, through the typed
 * OAuth2TokenClient (one implementation for the Lambda and direct users). There is no bootstrap:
 * the first refresh token comes from a person authorizing once.
 */
export function createOAuth2Dialect(config: OAuth2DialectConfig, clientSecret: SecretObject): TokenDialect {
  const client = OAuth2TokenClient.fromClientSecret(clientSecret, {
    tokenUrl: oauth2TokenUrl(config.endpointUrl, config.oauth2TokenPath),
    timeoutMs: config.httpTimeoutMs,
    defaultExpiresIn: config.defaultExpiresInSeconds,
  });
  return {
    refresh: async (refreshToken, deadline) => toTokenGrant(await client.refresh(refreshToken, { deadline })),
    close: () => client.close(),
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
