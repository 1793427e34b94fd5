// Bundles the CLI and the consumer reader to plain ESM JavaScript in dist/ (package.json "bin" and
// "exports" point there). Runs as `prepare`, so `npm ci` leaves a working `npx token-refresher`.
// Dependencies stay external: they are resolved from node_modules at run time.
import { build } from "esbuild";
import { chmod } from "node:fs/promises";
import { resolve } from "node:path";
import process from "node:process";
import { URL, fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const outdir = resolve(root, process.argv[2] ?? "dist");
const common = {
  absWorkingDir: root,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  packages: "external",
  sourcemap: true,
  logLevel: "warning",
};

await Promise.all([
  build({
    ...common,
    entryPoints: { "token-refresher": "bin/token-refresher.ts" },
    outdir,
    outExtension: { ".js": ".mjs" },
    banner: { js: "#!/usr/bin/env node" },
  }),
  build({ ...common, entryPoints: { reader: "lambda/reader/index.ts" }, outdir, outExtension: { ".js": ".mjs" } }),
]);
await chmod(resolve(outdir, "token-refresher.mjs"), 0o755);
process.stdout.write(`built ${resolve(outdir, "token-refresher.mjs")} and reader.mjs\n`);
