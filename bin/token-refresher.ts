// The `token-refresher` command (package.json "bin"; bundled whole, AWS SDK included, to
// dist/token-refresher.mjs by `npm run build`). The logic is in ./cli/main.ts, which tests also run
// in-process.
import { processIo } from "./cli/io.js";
import { main } from "./cli/main.js";

// The AWS SDK's notice that its 2027 releases need Node 22 is not for operators of this command
// (read when the first client is built, so setting it here is in time); an explicit setting wins.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

process.exitCode = await main(process.argv.slice(2), processIo());
