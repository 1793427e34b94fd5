import { oauth2TokenUrl, type OAuth2CredentialSpec } from "../config/index.js";
import { OAuth2TokenClient } from "../oauth2/token-client.js";
import type { Deadline } from "../refresh/deadline.js";
import type { SecretObject } from "../secrets/fields.js";
import { toTokenGrant } from "./grant.js";
import type { TokenDialect } from "./types.js";

/**
 * OAuth2 `refresh_token` grant, through the typed OAuth2TokenClient (one implementation for the
 * Lambda and direct users). There is no bootstrap: the first refresh token comes from a person
 * authorizing once.
 */
export function createOAuth2Dialect(credential: OAuth2CredentialSpec, clientSecret: SecretObject, httpTimeoutMs: number): TokenDialect {
  const client = oauth2Client(credential, clientSecret, httpTimeoutMs);
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
export function createClientCredentialsDialect(credential: OAuth2CredentialSpec, clientSecret: SecretObject, httpTimeoutMs: number): TokenDialect {
  const client = oauth2Client(credential, clientSecret, httpTimeoutMs);
  const obtain = async (deadline: Deadline) => toTokenGrant(await client.clientCredentials({ deadline }));
  return {
    refresh: (_refreshToken, deadline) => obtain(deadline),
    bootstrap: obtain,
    close: () => client.close(),
  };
}

/** The client with the configured authentication, scope and audience; the client secret's own fields override them (docs/secrets.md, "Client secret"). */
function oauth2Client(credential: OAuth2CredentialSpec, clientSecret: SecretObject, httpTimeoutMs: number): OAuth2TokenClient {
  return OAuth2TokenClient.fromClientSecret(clientSecret, {
    // The spec was checked (lambda/config/rules.ts): endpoint and path make an https URL.
    tokenUrl: oauth2TokenUrl(credential.endpointUrl, credential.oauth2TokenPath),
    timeoutMs: httpTimeoutMs,
    defaultExpiresIn: credential.oauth2DefaultExpiresInSeconds,
    clientAuth: credential.oauth2ClientAuth,
    scope: credential.oauth2Scope,
    audience: credential.oauth2Audience,
  });
}
