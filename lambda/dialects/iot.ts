import { IotAuthClient } from "../iot/auth-client.js";
import type { SecretObject } from "../secrets/fields.js";
import { toTokenGrant } from "./grant.js";
import type { TokenDialect, TokenGrant } from "./types.js";

/** The IoT refresh token's validity: "1 month" (the platform's `AuthRefreshOutDTO`); counted as 30 days. */
export const IOT_REFRESH_TOKEN_LIFETIME_SECONDS = 30 * 24 * 3600;

/**
 * Huawei IoT northbound (OceanConnect) authentication, through the typed IotAuthClient (one
 * implementation for the Lambda and direct users): `refresh` is `refreshToken`, `bootstrap` is `login`.
 */
export function createIotDialect(endpointUrl: string, clientSecret: SecretObject, timeoutMs: number): TokenDialect {
  const client = IotAuthClient.fromClientSecret(clientSecret, { endpointUrl, timeoutMs });
  return {
    refresh: async (refreshToken, deadline) => withLifetime(toTokenGrant(await client.refreshToken(refreshToken, { deadline }))),
    bootstrap: async (deadline) => withLifetime(toTokenGrant(await client.login({ deadline }))),
    close: () => client.close(),
  };
}

const withLifetime = (grant: TokenGrant): TokenGrant => ({ ...grant, refreshTokenExpiresInSeconds: IOT_REFRESH_TOKEN_LIFETIME_SECONDS });
