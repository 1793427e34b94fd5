// Builds what the package ships (package.json "bin", "exports" and "files" point here), in dist/:
// - reader.mjs (token-refresher/reader), cdk.mjs (token-refresher/cdk), iot.mjs and oauth2.mjs
//   (token-refresher/iot, token-refresher/oauth2, the typed platform clients): ESM that imports only
//   what package.json declares (the Secrets Manager client, and the optional peers aws-cdk-lib and
//   constructs for cdk.mjs), resolved from the consumer's node_modules; anything else they use
//   (undici) is bundled in, shared through dist/chunks/, so a reader-only install needs nothing more;
// - token-refresher.mjs (CLI), handler/index.mjs (the Lambda handler, the asset the construct
//   deploys) and fleet/scheduler/index.mjs, fleet/worker/index.mjs (the fleet construct's): bundled
//   whole, AWS SDK included, so none needs a dependency at run time and a consumer's synth needs no
//   lockfile, no esbuild and no Docker;
// - types/: declarations from tsc (tsconfig.build.json), so consumers type-check against .d.ts, not sources.
// `npm pack` runs it (prepack), as do the tests (pretest and the vitest global setup) and `cdk synth`
// in this repository (cdk.json), each with --if-changed: the build is skipped when dist/ already holds
// a build of the same inputs (every source file the bundles read, package.json, the lockfile, the
// tsconfigs and this script, by content hash). `npm install` never runs it: consumers get dist/ packed.
// Everything is built into a staging directory that then replaces dist/ in one rename, so a process
// reading dist/ (a test, a synth) sees the previous build or the next one, never half of one.
import { build } from "esbuild";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { once } from "node:events";
import { chmod, mkdir, mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import process from "node:process";
import { URL, fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = fileURLToPath(new URL("..", import.meta.url));
const { values: flags, positionals } = parseArgs({ options: { "if-changed": { type: "boolean" } }, allowPositionals: true });
const outdir = resolve(root, positionals[0] ?? "dist");
/** In dist/ but not packed (package.json "files"): the inputs of the build dist/ holds, with their hashes. */
const INPUTS_FILE = ".build-inputs.json";
/** Inputs besides the source files esbuild reports: what decides how they are built. */
const BUILD_FILES = ["package.json", "package-lock.json", "tsconfig.json", "tsconfig.build.json", "bin/build.mjs"];

if (flags["if-changed"] && (await isCurrent(outdir))) {
  process.stderr.write(`${outdir} is up to date\n`);
  process.exit(0);
}

const manifest = JSON.parse(await readFile(join(root, "package.json"), "utf8"));
/** What the library entries import rather than bundle: the declared dependencies and peers, and their subpaths. */
const declared = [...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.peerDependencies ?? {})].flatMap((name) => [name, `${name}/*`]);

const scratch = join(root, "node_modules", ".cache");
await mkdir(scratch, { recursive: true });
const staging = await mkdtemp(join(scratch, "token-refresher-build-"));

/** Every output is ESM; undici and parts of the SDK are CommonJS and require() Node built-ins: each file gets a require. */
const REQUIRE = "import { createRequire as __trCreateRequire } from 'node:module'; const require = __trCreateRequire(import.meta.url);";
const common = {
  absWorkingDir: root,
  bundle: true,
  platform: "node",
  format: "esm",
  banner: { js: REQUIRE },
  metafile: true,
  sourcemap: true,
  logLevel: "warning",
  outExtension: { ".js": ".mjs" },
};
/**
 * Bundled whole, with the SDK's ESM builds, minified. Stack traces name source lines with
 * NODE_OPTIONS=--enable-source-maps; no sources shipped. (The library entries' maps keep their
 * sources: a consumer's bundler or test runner reads them, and warns about a map without them.)
 */
const standalone = { ...common, mainFields: ["module", "main"], minify: true, sourcesContent: false };

try {
  // allSettled: a failed bundle must not remove the staging directory while tsc still writes into it.
  const outcomes = await Promise.allSettled([
    build({
      ...common,
      entryPoints: { reader: "lambda/reader/index.ts", cdk: "infra/token-refresher/index.ts", iot: "lambda/iot/index.ts", oauth2: "lambda/oauth2/index.ts" },
      outdir: staging,
      target: "node20",
      external: declared,
      // What several entries share (undici for iot and oauth2) is one chunk, in dist/chunks/.
      splitting: true,
      chunkNames: "chunks/[name]-[hash]",
    }),
    build({ ...standalone, entryPoints: { "token-refresher": "bin/token-refresher.ts" }, outdir: staging, target: "node20", banner: { js: `#!/usr/bin/env node\n${REQUIRE}` } }),
    // The Lambda runtime the construct deploys (lambda.Runtime.NODEJS_22_X).
    build({ ...standalone, entryPoints: { index: "lambda/handler.ts" }, outdir: join(staging, "handler"), target: "node22" }),
    // The fleet's functions (docs/fleet.md), one asset each.
    build({
      ...standalone,
      entryPoints: { "scheduler/index": "lambda/fleet/scheduler-handler.ts", "worker/index": "lambda/fleet/worker-handler.ts" },
      outdir: join(staging, "fleet"),
      target: "node22",
    }),
    declarations(join(staging, "types")),
  ]);
  const failed = outcomes.find((outcome) => outcome.status === "rejected");
  if (failed) throw failed.reason;
  const sources = outcomes.flatMap((outcome) => Object.keys(outcome.value?.metafile?.inputs ?? {})).filter((path) => !path.includes("node_modules/"));
  await writeFile(join(staging, INPUTS_FILE), JSON.stringify(await hashes([...new Set([...sources, ...BUILD_FILES])].sort()), null, 2));
  await chmod(join(staging, "token-refresher.mjs"), 0o755);
  await replace(outdir, staging);
  process.stderr.write(`built ${outdir}: token-refresher.mjs, reader.mjs, cdk.mjs, iot.mjs, oauth2.mjs, chunks/, handler/index.mjs, fleet/{scheduler,worker}/index.mjs, types/\n`);
} finally {
  await rm(staging, { recursive: true, force: true });
}

/** Content hash of each file (relative to the repository), undefined for a missing one. */
async function hashes(paths) {
  const entries = await Promise.all(
    paths.map(async (path) => [path, await readFile(join(root, path)).then((bytes) => createHash("sha256").update(bytes).digest("hex"), () => undefined)]),
  );
  return Object.fromEntries(entries);
}

/** Whether `dir` holds a complete build (the inputs file is written last) of inputs that have not changed since. */
async function isCurrent(dir) {
  const recorded = await readFile(join(dir, INPUTS_FILE), "utf8").then(JSON.parse, () => undefined);
  if (!recorded) return false;
  const now = await hashes(Object.keys(recorded));
  return Object.entries(recorded).every(([path, hash]) => now[path] === hash);
}

/**
 * Moves `staging` to `target`, replacing the previous build. Another build finishing at the same
 * moment can put its dist/ back in between: then again.
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
