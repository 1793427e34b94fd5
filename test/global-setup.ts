import type { TestProject } from "vitest/node";
import { startMoto, type MotoServer } from "./support/moto.js";

let moto: MotoServer | undefined;

/** One moto_server for the whole suite; every test file uses its own uniquely named secrets. */
export async function setup(project: TestProject): Promise<void> {
  moto = await startMoto();
  project.provide("motoEndpoint", moto.endpoint);
}

export async function teardown(): Promise<void> {
  await moto?.stop();
}

declare module "vitest" {
  export interface ProvidedContext {
    motoEndpoint: string;
  }
}
