import type { CredentialSpec } from "../config/index.js";
import type { SecretObject } from "../secrets/fields.js";
import { createIotDialect } from "./iot.js";
import { createClientCredentialsDialect, createOAuth2Dialect } from "./oauth2.js";
import type { TokenDialect } from "./types.js";

/** How a dialect's HTTP calls are bounded (the deployment's runtime settings). */
export interface DialectOptions {
  readonly httpTimeoutMs: number;
}

export type DialectFactory = (credential: CredentialSpec, clientSecret: SecretObject, options: DialectOptions) => TokenDialect;

/** Picks the token API dialect the credential names. */
export const createDialect: DialectFactory = (credential, clientSecret, { httpTimeoutMs }) => {
  switch (credential.dialect) {
    case "iot":
      return createIotDialect(credential.endpointUrl, clientSecret, httpTimeoutMs);
    case "oauth2":
      return createOAuth2Dialect(credential, clientSecret, httpTimeoutMs);
    case "client_credentials":
      return createClientCredentialsDialect(credential, clientSecret, httpTimeoutMs);
  }
};
