// The package's public entry for an OAuth2 token endpoint:
// `import { OAuth2TokenClient } from "token-refresher/oauth2"` (docs/clients.md).
export {
  DEFAULT_EXPIRES_IN,
  OAuth2TokenClient,
  REJECTED_CREDENTIAL_ERRORS,
  type OAuth2AccessTokenResult,
  type OAuth2CallOptions,
  type OAuth2TokenClientOptions,
  type OAuth2TokenResult,
} from "./token-client.js";
export { ConfigError, NetworkError, PlatformError, ProtocolError, RefreshError, SecretFormatError, type FailureOutcome } from "../errors.js";
export { Deadline } from "../refresh/deadline.js";
export { OAUTH2_CLIENT_AUTH_METHODS, type OAuth2ClientAuth } from "../settings.js";
