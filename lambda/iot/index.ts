// The package's public entry for the IoT platform's authentication calls:
// `import { IotAuthClient } from "token-refresher/iot"` (docs/clients.md).
export { IOT_ERROR_CODES, IotAuthClient, type IotAuthClientOptions, type IotAuthResult, type IotCallOptions } from "./auth-client.js";
export { ConfigError, NetworkError, PlatformError, ProtocolError, RefreshError, SecretFormatError, type FailureOutcome } from "../errors.js";
export { Deadline } from "../refresh/deadline.js";
