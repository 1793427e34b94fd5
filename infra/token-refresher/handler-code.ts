import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import * as lambda from "aws-cdk-lib/aws-lambda";

/** Entry file name inside the asset; `index.handler` is the function's handler string. */
export const HANDLER_FILE = "index.mjs";

/** The pre-bundled handlers in `dist/` (bin/build.mjs): the refresher's and the fleet's two. */
export type HandlerBundle = "handler" | "fleet/scheduler" | "fleet/worker";

/**
 * Directory of a pre-bundled handler (`dist/handler`, ..., written by `npm run build`, shipped in the
 * package). Found through the package's own name, so the same code works from this repository's
 * sources and from the installed package's bundled `dist/cdk.mjs`.
 */
export function handlerAssetDir(bundle: HandlerBundle = "handler"): string {
  const manifest = createRequire(import.meta.url).resolve("token-refresher/package.json");
  const dir = join(dirname(manifest), "dist", ...bundle.split("/"));
  if (!existsSync(join(dir, HANDLER_FILE))) {
    throw new Error(`the pre-bundled handler ${join(dir, HANDLER_FILE)} is missing: run \`npm run build\` in ${dirname(manifest)}`);
  }
  return dir;
}

/** A function's code: the shipped bundle, so synth needs no lockfile, esbuild or Docker. */
export function handlerCode(bundle: HandlerBundle = "handler"): lambda.Code {
  return lambda.Code.fromAsset(handlerAssetDir(bundle));
}
