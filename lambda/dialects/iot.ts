import { IotAuthClient } from "../iot/auth-client.js";
import type { SecretObject } from "../secrets/fields.js";
import { toTokenGrant } from "./grant.js";
import type { TokenDialect } from "./types.js";

/**
 * Huawei IoT northbound (OceanConnect) authentication, through the typed IotAuthClient (one
 * implementation for the Lambda and direct users): `refresh` is `refreshToken`, `bootstrap` is `login`.
 */
export function createIotDialect(endpointUrl: string, clientSecret: SecretObject, timeoutMs: number): TokenDialect {
  const client = IotAuthClient.fromClientSecret(clientSecret, { endpointUrl, timeoutMs });
  return {
    refresh: async (refreshToken, deadline) => toTokenGrant(await client.refreshToken(refreshToken, { deadline })),
    bootstrap: async (deadline) => toTokenGrant(await client.login({ deadline })),
    close: () => client.close(),
  };
}
