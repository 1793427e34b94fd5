import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { TestProject } from "vitest/node";
import { startAwsFront, type AwsFront } from "./support/aws-front.js";
import { startMoto, type MotoServer } from "../bin/local/moto.js";

let moto: MotoServer | undefined;
let front: AwsFront | undefined;

/**
 * One moto_server for the whole suite, behind one AWS front with the default limits of real Secrets
 * Manager (docs/development.md, "Testing"); every test file uses its own uniquely named secrets and tables. Before
 * it, dist/ is built unless it already holds a build of the current sources: the infrastructure, CLI,
 * runtime and package tests use what the package ships.
 */
export async function setup(project: TestProject): Promise<void> {
  await promisify(execFile)(process.execPath, ["bin/build.mjs", "--if-changed"]);
  moto = await startMoto();
  front = await startAwsFront({ upstream: moto.endpoint });
  project.provide("motoEndpoint", moto.endpoint);
  project.provide("frontEndpoint", front.endpoint);
}

export async function teardown(): Promise<void> {
  await front?.close();
  await moto?.stop();
}

declare module "vitest" {
  export interface ProvidedContext {
    /** moto_server itself: for a test file's own front (`startAwsFront({ upstream: inject("motoEndpoint") })`). */
    motoEndpoint: string;
    /** The shared front every SDK client reaches through AWS_ENDPOINT_URL. */
    frontEndpoint: string;
  }
}
