// The package's public entry for consuming services: `import { TokenReader } from "token-refresher/reader"`.
export { TokenReader, TokenUnavailableError, type AccessToken, type TokenReaderOptions, type WithTokenOptions } from "./token-reader.js";
export type { TokenDocument } from "../secrets/token-store.js";
