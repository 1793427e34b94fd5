// Builds what the package ships (package.json "bin", "exports" and "files" point here), in dist/:
// - token-refresher.mjs (CLI), reader.mjs (token-refresher/reader), cdk.mjs (token-refresher/cdk),
//   iot.mjs and oauth2.mjs (token-refresher/iot, token-refresher/oauth2, the typed platform clients):
//   ESM with dependencies external, resolved from the consumer's node_modules at run time;
// - handler/index.mjs: the Lambda handler bundled whole (SDK included) for Node.js 22, the asset the
//   construct deploys, so a consumer's synth needs no lockfile, no esbuild and no Docker; likewise
//   fleet/scheduler/index.mjs and fleet/worker/index.mjs, the fleet construct's two functions;
// - types/: declarations from tsc (tsconfig.build.json), so consumers type-check against .d.ts, not sources.
// Runs as `prepare`, so `npm ci` leaves a working `npx token-refresher` and `npm pack` packs a fresh build.
// Everything is built into a staging directory that then replaces dist/ in one rename, so a process
// reading dist/ (a test, a synth) sees the previous build or the next one, never half of one.
import { build } from "esbuild";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { chmod, mkdir, mkdtemp, rename, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import process from "node:process";
import { URL, fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const outdir = resolve(root, process.argv[2] ?? "dist");
const scratch = join(root, "node_modules", ".cache");
await mkdir(scratch, { recursive: true });
const staging = await mkdtemp(join(scratch, "token-refresher-build-"));

const library = {
  absWorkingDir: root,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  packages: "external",
  sourcemap: true,
  logLevel: "warning",
  outdir: staging,
  outExtension: { ".js": ".mjs" },
};

try {
  // allSettled: a failed bundle must not remove the staging directory while tsc still writes into it.
  const outcomes = await Promise.allSettled([
    build({ ...library, entryPoints: { "token-refresher": "bin/token-refresher.ts" }, banner: { js: "#!/usr/bin/env node" } }),
    build({ ...library, entryPoints: { reader: "lambda/reader/index.ts", cdk: "infra/token-refresher/index.ts", iot: "lambda/iot/index.ts", oauth2: "lambda/oauth2/index.ts" } }),
    lambdaBundle("lambda/handler.ts", join(staging, "handler")),
    lambdaBundle("lambda/fleet/scheduler-handler.ts", join(staging, "fleet", "scheduler")),
    lambdaBundle("lambda/fleet/worker-handler.ts", join(staging, "fleet", "worker")),
    declarations(join(staging, "types")),
  ]);
  const failed = outcomes.find((outcome) => outcome.status === "rejected");
  if (failed) throw failed.reason;
  await chmod(join(staging, "token-refresher.mjs"), 0o755);
  await replace(outdir, staging);
  process.stdout.write(`built ${outdir}: token-refresher.mjs, reader.mjs, cdk.mjs, iot.mjs, oauth2.mjs, handler/index.mjs, fleet/scheduler/index.mjs, fleet/worker/index.mjs, types/\n`);
} finally {
  await rm(staging, { recursive: true, force: true });
}

/** A Lambda entry bundled whole (SDK included) as `outdir`/index.mjs, for the runtime the constructs deploy. */
function lambdaBundle(entry, outdir) {
  return build({
    absWorkingDir: root,
    entryPoints: { index: entry },
    outdir,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    platform: "node",
    // The Lambda runtime the constructs deploy (lambda.Runtime.NODEJS_22_X).
    target: "node22",
    format: "esm",
    mainFields: ["module", "main"],
    minify: true,
    // Stack traces name source lines with NODE_OPTIONS=--enable-source-maps; no sources shipped.
    sourcemap: true,
    sourcesContent: false,
    // undici and parts of the SDK are CommonJS and require() Node built-ins; give the ESM bundle a require.
    banner: { js: "import { createRequire as __trCreateRequire } from 'node:module'; const require = __trCreateRequire(import.meta.url);" },
    logLevel: "warning",
  });
}

/**
 * Moves `staging` to `target`, replacing the previous build. Another build finishing at the same
 * moment (tests run `npm pack`, which builds) can put its dist/ back in between: then again.
 */
async function replace(target, staging) {
  const previous = `${staging}-previous`;
  for (;;) {
    await rename(target, previous).catch((error) => {
      if (error.code !== "ENOENT") throw error;
    });
    try {
      await rename(staging, target);
      break;
    } catch (error) {
      if (error.code !== "ENOTEMPTY" && error.code !== "EEXIST") throw error;
    }
  }
  await rm(previous, { recursive: true, force: true });
}

/** tsc in its own process: the declarations are the slow part and build beside esbuild. */
async function declarations(typesDir) {
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
  const child = spawn(process.execPath, [tsc, "-p", join(root, "tsconfig.build.json"), "--outDir", typesDir], { stdio: "inherit" });
  const [code] = await once(child, "exit");
  if (code !== 0) throw new Error(`tsc -p tsconfig.build.json exited with ${code}`);
}
