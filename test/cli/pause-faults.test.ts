// pause and resume with each of their AWS calls failing in turn (injected by the test's own AWS
// front): what the CLI reports as in force is what moto holds, the schedule rule is never disabled
// while the alarm actions are on (AccessTokenTtl's missing data would page), and running the same
// command again completes it.
import { DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";
import { afterEach, describe, expect } from "vitest";
import type { AwsFront, FaultSpec } from "../support/aws-front.js";
import { createSwitches } from "../support/aws.js";
import { IotFixture } from "../support/iot-fixture.js";
import { lambdaEnvironment } from "../support/refresher.js";
import { test } from "../protocol/front.js";
import { runCli } from "./run-cli.js";

let fixture: IotFixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

/** A credential as the stack deploys it (a due pair, its schedule rule, two alarms), reached through `front`. */
async function deployed(front: AwsFront) {
  fixture = await IotFixture.start();
  const f = fixture;
  await f.seed(60);
  const switches = await createSwitches();
  const env = { ...lambdaEnvironment(f.config), ...switches.env, AWS_ENDPOINT_URL: front.endpoint };
  /** What is in force, read back from moto (around the front). */
  const readBack = async (): Promise<InForce> => {
    const item = (
      await new DynamoDBClient({}).send(new GetItemCommand({ TableName: f.config.runtime.stateTableName, Key: { credential: { S: f.config.credential.name } }, ConsistentRead: true }))
    ).Item;
    return { ...(await switches.read()), pauseRecord: item?.pausedBy ? "recorded" : "cleared" };
  };
  return { f, env, readBack };
}

type InForce = Record<"alarmActions" | "pauseRecord" | "scheduleRule", string>;
const RUNNING: InForce = { alarmActions: "on", pauseRecord: "cleared", scheduleRule: "enabled" };
const PAUSED: InForce = { alarmActions: "off", pauseRecord: "recorded", scheduleRule: "disabled" };
const refused = { status: 400, type: "AccessDeniedException", message: "not authorized (injected by the AWS front)" };

type Step = [step: string, fault: Omit<FaultSpec, "fault" | "resource">];
const PAUSE_STEPS: Step[] = [
  ["identify the caller", { service: "sts", operation: "GetCallerIdentity" }],
  ["switch the alarm actions off", { service: "monitoring", operation: "DisableAlarmActions" }],
  ["record the pause", { service: "dynamodb", operation: "UpdateItem" }],
  ["disable the schedule rule", { service: "events", operation: "DisableRule" }],
];
const RESUME_STEPS: Step[] = [
  ["enable the schedule rule", { service: "events", operation: "EnableRule" }],
  ["clear the pause record", { service: "dynamodb", operation: "UpdateItem" }],
  ["switch the alarm actions on", { service: "monitoring", operation: "EnableAlarmActions" }],
];

interface FailedRun {
  readonly error: { readonly kind: string; readonly message: string; readonly hint: string; readonly step: string; readonly inForce: Partial<InForce> };
}

/** Runs `command` with the fault, checks the report against moto, then runs it again without the fault. */
async function failThenComplete(front: AwsFront, d: Awaited<ReturnType<typeof deployed>>, command: "pause" | "resume", step: string, fault: FaultSpec, before: InForce) {
  const injected = front.inject(fault);
  const failed = await runCli([command, "--json", "--function", "refresher-fn"], { env: d.env, io: { lambda: { send: () => Promise.resolve({ Environment: { Variables: d.env } }) } } });
  injected.remove();
  expect(failed.code).not.toBe(0);
  expect(injected.applied).toBeGreaterThan(0);
  const { error } = JSON.parse(failed.stdout) as FailedRun;
  expect(error.step).toBe(step);
  expect(error.message).toContain(`${command} stopped at step`);
  expect(error.message).toContain(step);
  expect(error.hint).toContain(`token-refresher ${command} --function refresher-fn`);

  const inForce = await d.readBack();
  // Never the half-state that pages: the schedule stopped while the alarms would still notify.
  expect(inForce.scheduleRule === "disabled" && inForce.alarmActions === "on").toBe(false);
  for (const [name, reported] of Object.entries(error.inForce)) {
    const key = name as keyof InForce;
    if (reported === "unknown") continue;
    expect([key, reported === "unchanged" ? before[key] : reported]).toEqual([key, inForce[key]]);
  }

  const again = await runCli([command], { env: d.env });
  expect([again.code, again.stderr]).toEqual([0, ""]);
  return { error, inForce, completed: await d.readBack() };
}

describe("pause, with each AWS step failing in turn", () => {
  test.for(PAUSE_STEPS)("%s refused: the report is what is in force, and pause again completes it", async ([step, fault], { front }) => {
    const d = await deployed(front);
    const resource = fault.service === "dynamodb" ? d.f.config.runtime.stateTableName : undefined;
    const { error, completed } = await failThenComplete(front, d, "pause", step, { ...fault, resource, fault: "fail", times: Infinity, error: refused }, RUNNING);
    expect(error.kind).toBe("aws-access");
    expect(completed).toEqual(PAUSED);
  });

  test("the alarm step's answer lost: reported unknown, the rule untouched, pause again completes it", async ({ front }) => {
    const d = await deployed(front);
    const { error, inForce, completed } = await failThenComplete(
      front,
      d,
      "pause",
      "switch the alarm actions off",
      { service: "monitoring", operation: "DisableAlarmActions", fault: "lose", times: Infinity },
      RUNNING,
    );
    expect(error.inForce).toEqual({ alarmActions: "unknown", pauseRecord: "unchanged", scheduleRule: "unchanged" });
    expect(inForce.scheduleRule).toBe("enabled");
    expect(completed).toEqual(PAUSED);
  });
});

describe("resume, with each AWS step failing in turn", () => {
  test.for(RESUME_STEPS)("%s refused: the report is what is in force, and resume again completes it", async ([step, fault], { front }) => {
    const d = await deployed(front);
    expect((await runCli(["pause"], { env: d.env })).code).toBe(0);
    expect(await d.readBack()).toEqual(PAUSED);
    const resource = fault.service === "dynamodb" ? d.f.config.runtime.stateTableName : undefined;
    const { error, completed } = await failThenComplete(front, d, "resume", step, { ...fault, resource, fault: "fail", times: Infinity, error: refused }, PAUSED);
    expect(error.kind).toBe("aws-access");
    expect(completed).toEqual(RUNNING);
    // The second resume ran the workflow: the due pair was refreshed.
    expect(await d.f.storedPairIsCurrent()).toBe(true);
  });
});
