// `npm start`: runs the refresh job locally on a fast schedule — a self-contained demo against
// moto_server and the IoT platform simulator, or, with the refresher's endpoint and both secret ids
// set in the environment (docs/configuration.md), the real credential. See README.md, "Local demo", and docs/cli.md, "`npm start`".
import { runLocal } from "./local/runner.js";

// The AWS SDK's Node 22 notice is noise here (see bin/token-refresher.ts); an explicit setting wins.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

const controller = new AbortController();
const write = (text: string) => process.stdout.write(text);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    write(`\n${signal}: stopping after the current run…\n`);
    controller.abort();
  });
}
process.exitCode = await runLocal({ env: process.env, write, signal: controller.signal });
