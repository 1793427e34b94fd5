// The package's public entry for consuming services: `import { TokenReader } from "token-refresher/reader"`.
// Every error a reader throws is exported here (docs/consumers.md, "Reading the token from a service (TypeScript)").
export {
  TokenReader,
  TokenSecretReadError,
  TokenUnavailableError,
  type AccessToken,
  type TokenReaderOptions,
  type WithTokenOptions,
} from "./token-reader.js";
export { SecretFormatError } from "../errors.js";
export type { TokenDocument } from "../secrets/token-store.js";
