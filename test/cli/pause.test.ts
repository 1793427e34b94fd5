// token-refresher pause / resume against moto: the schedule rule's state, the alarms' actions, the
// pause record in the state table, and the refresh that resume runs when the token is due.
import { DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";
import { afterEach, describe, expect, it } from "vitest";
import { createSwitches } from "../support/aws.js";
import { IotFixture } from "../support/iot-fixture.js";
import { lambdaEnvironment } from "../support/refresher.js";
import { runCli } from "./run-cli.js";

let fixture: IotFixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

/** A credential as the stack deploys it: a due pair, its schedule rule and two of its alarms. */
async function deployed() {
  fixture = await IotFixture.start();
  await fixture.seed(60);
  fixture.platform.reset();
  const switches = await createSwitches();
  return { f: fixture, env: { ...lambdaEnvironment(fixture.config), ...switches.env }, switches };
}

const stateItem = async (f: IotFixture) =>
  (await new DynamoDBClient({}).send(new GetItemCommand({ TableName: f.config.runtime.stateTableName, Key: { credential: { S: f.config.credential.name } }, ConsistentRead: true }))).Item;

describe("pause and resume", () => {
  it("pause disables the rule and the alarm actions and records who paused; runs skip until resume, which refreshes at once", async () => {
    const { f, env, switches } = await deployed();
    const paused = await runCli(["pause"], { env });
    expect([paused.code, paused.stderr]).toEqual([0, ""]);
    expect(await switches.read()).toEqual({ scheduleRule: "disabled", alarmActions: "off" });

    const status = await runCli(["status", "--json"], { env });
    const shown = JSON.parse(status.stdout) as { paused?: { since: string; by: string } };
    expect(shown.paused?.by).toMatch(/^arn:aws:(iam|sts)::\d{12}:/);
    expect(Math.abs(Date.parse(shown.paused!.since) - Date.now())).toBeLessThan(10_000);
    expect((await runCli(["status"], { env })).stdout).toMatch(/paused +since \S+Z by arn:aws:/);

    // A pause outlives the state table's TTL for stale items: the paused item has none.
    expect(await stateItem(f)).not.toHaveProperty("ttl");

    const skipped = await runCli(["refresh", "--json"], { env });
    expect(JSON.parse(skipped.stdout)).toMatchObject({ outcome: "Skipped", reason: "paused", apiCalls: 0 });
    expect(f.platform.calls.total).toBe(0);

    const resumed = await runCli(["resume"], { env });
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain("resumed");
    expect(resumed.stdout).toContain("Refreshed (refreshed)");
    expect(await switches.read()).toEqual({ scheduleRule: "enabled", alarmActions: "on" });
    expect(await f.storedPairIsCurrent()).toBe(true);
    expect(JSON.parse((await runCli(["status", "--json"], { env })).stdout)).not.toHaveProperty("paused");
    expect(await stateItem(f)).toHaveProperty("ttl");
  });

  it("a forced run still refreshes a paused credential", async () => {
    const { f, env } = await deployed();
    expect((await runCli(["pause"], { env })).code).toBe(0);
    const forced = await runCli(["refresh", "--force", "--json"], { env });
    expect(JSON.parse(forced.stdout)).toMatchObject({ outcome: "Refreshed" });
    expect(await f.storedPairIsCurrent()).toBe(true);
  });

  it("names what is missing when the function carries no schedule rule", async () => {
    const { env } = await deployed();
    const run = await runCli(["pause"], { env: { ...env, SCHEDULE_RULE_NAME: "" } });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("SCHEDULE_RULE_NAME is not set");
  });
});
