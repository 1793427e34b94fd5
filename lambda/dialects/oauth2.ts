import type { RefresherConfig } from "../config.js";
import { ConfigError } from "../errors.js";
import { OAuth2TokenClient } from "../oauth2/token-client.js";
import type { Deadline } from "../refresh/deadline.js";
import type { SecretObject } from "../secrets/fields.js";
import { toTokenGrant } from "./grant.js";
import type { TokenDialect } from "./types.js";

/** The configuration the OAuth2 dialects read. */
export type OAuth2DialectConfig = Pick<
  RefresherConfig,
  "endpointUrl" | "oauth2TokenPath" | "defaultExpiresInSeconds" | "httpTimeoutMs" | "oauth2ClientAuth" | "oauth2Scope" | "oauth2Audience"
>;

/**
 * OAuth2 `refresh_token` grant, through the typed OAuth2TokenClient (one implementation for the
 * Lambda and direct users). There is no bootstrap: the first refresh token comes from a person
 * authorizing once.
 */
export function createOAuth2Dialect(config: OAuth2DialectConfig, clientSecret: SecretObject): TokenDialect {
  const client = oauth2Client(config, clientSecret);
  return {
    refresh: async (refreshToken, deadline) => toTokenGrant(await client.refresh(refreshToken, { deadline })),
    close: () => client.close(),
  };
}

/**
 * OAuth2 `client_credentials` grant (service-to-service tokens, no refresh token): the workflow
 * bootstraps every token, as it logs in for IoT. `refresh` makes the same grant, so a refresh token
 * someone stored by hand is ignored rather than sent.
 */
export function createClientCredentialsDialect(config: OAuth2DialectConfig, clientSecret: SecretObject): TokenDialect {
  const client = oauth2Client(config, clientSecret);
  const obtain = async (deadline: Deadline) => toTokenGrant(await client.clientCredentials({ deadline }));
  return {
    refresh: (_refreshToken, deadline) => obtain(deadline),
    bootstrap: obtain,
    close: () => client.close(),
  };
}

/** The client with the configured authentication, scope and audience; the client secret's own fields override them (README, "Secrets"). */
function oauth2Client(config: OAuth2DialectConfig, clientSecret: SecretObject): OAuth2TokenClient {
  return OAuth2TokenClient.fromClientSecret(clientSecret, {
    tokenUrl: oauth2TokenUrl(config.endpointUrl, config.oauth2TokenPath),
    timeoutMs: config.httpTimeoutMs,
    defaultExpiresIn: config.defaultExpiresInSeconds,
    clientAuth: config.oauth2ClientAuth,
    scope: config.oauth2Scope,
    audience: config.oauth2Audience,
  });
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
