import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import * as lambda from "aws-cdk-lib/aws-lambda";

/** Entry file name inside the asset; `index.handler` is the function's handler string. */
export const HANDLER_FILE = "index.mjs";

/**
 * Directory of the pre-bundled handler (`dist/handler`, written by `npm run build`, shipped in the
 * package). Found through the package's own name, so the same code works from this repository's
 * sources and from the installed package's bundled `dist/cdk.mjs`.
 */
export function handlerAssetDir(): string {
  const manifest = createRequire(import.meta.url).resolve("token-refresher/package.json");
  const dir = join(dirname(manifest), "dist", "handler");
  if (!existsSync(join(dir, HANDLER_FILE))) {
    throw new Error(`the pre-bundled handler ${join(dir, HANDLER_FILE)} is missing: run \`npm run build\` in ${dirname(manifest)}`);
  }
  return dir;
}

/** The refresher function's code: the shipped bundle, so synth needs no lockfile, esbuild or Docker. */
export function handlerCode(): lambda.Code {
  return lambda.Code.fromAsset(handlerAssetDir());
}
