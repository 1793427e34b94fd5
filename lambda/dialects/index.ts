import type { RefresherConfig } from "../config.js";
import { ConfigError } from "../errors.js";
import type { SecretObject } from "../secrets/fields.js";
import { createIotDialect } from "./iot.js";
import { createClientCredentialsDialect, createOAuth2Dialect } from "./oauth2.js";
import type { TokenDialect } from "./types.js";

export type DialectFactory = (config: RefresherConfig, clientSecret: SecretObject) => TokenDialect;

/** Picks the token API dialect the configuration names. */
export const createDialect: DialectFactory = (config, clientSecret) => {
  switch (config.dialect) {
    case "iot":
      return createIotDialect(config.endpointUrl, clientSecret, config.httpTimeoutMs);
    case "oauth2":
      return createOAuth2Dialect(config, clientSecret);
    case "client_credentials":
      return createClientCredentialsDialect(config, clientSecret);
    default: {
      const dialect: string = config.dialect;
      throw new ConfigError(`dialect ${dialect} is not supported`);
    }
  }
};
