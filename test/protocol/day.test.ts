// Whole days at the 5-minute schedule, in compressed time: the test's AWS front runs its clock
// forward between ticks and answers with that time in `Date`, which is the refresher's clock. The
// front enforces Secrets Manager's quota of 100 versions per secret per 24 h (docs/development.md, "Testing").
import { afterEach, describe, expect } from "vitest";
import { BACKOFF_STEPS_MINUTES } from "../../lambda/protocol/write-protocol.js";
import type { AwsFront } from "../support/aws-front.js";
import type { IotFixture } from "../support/iot-fixture.js";
import { TICKS_PER_DAY, TICK_MS, limitExceeded, outageThenRecovery, platformCalls, runTicks, scheduledCredential } from "../support/schedule.js";
import { test } from "./front.js";

let fixture: IotFixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

async function dueCredential(front: AwsFront, options?: Parameters<typeof scheduledCredential>[1]): Promise<IotFixture> {
  fixture = await scheduledCredential(front, options);
  return fixture;
}

describe("a failing credential backs off and writes nothing", () => {
  test("a day of a frozen app: 0 new versions, at most 30 platform calls, AppFrozen reported on every tick", async ({ front }) => {
    const f = await dueCredential(front);
    f.platform.setFrozen(true);
    const results = await runTicks(f, front, TICKS_PER_DAY);

    expect(front.versionsCreated(f.config.credential.tokenSecretId)).toBe(0);
    expect(platformCalls(f)).toBeLessThanOrEqual(30);
    expect(results.every((result) => result.outcome === "AppFrozen")).toBe(true);
    expect(f.telemetry.metric("AppFrozen").every((value) => value === 1)).toBe(true);
    // The attempts follow the documented schedule: 5, 10, 20, 40, then every 60 minutes.
    const attemptTicks = results.flatMap((result, tick) => (result.apiCalls > 0 ? [tick] : []));
    const gaps = attemptTicks.slice(1).map((tick, i) => ((tick - attemptTicks[i]!) * TICK_MS) / 60_000);
    expect(gaps.slice(0, 5)).toEqual([...BACKOFF_STEPS_MINUTES]);
    expect(new Set(gaps.slice(4))).toEqual(new Set([60]));
    expect(results.filter((result) => result.backoffUntil).length).toBe(TICKS_PER_DAY - attemptTicks.length);
  });

  test("unfrozen, a working pair arrives within the backoff cap, or at once on a forced run", async ({ front }) => {
    const f = await dueCredential(front);
    f.platform.setFrozen(true);
    await runTicks(f, front, 60);
    f.platform.setFrozen(false);
    const afterUnfreeze = await runTicks(f, front, 60 / 5);
    expect(afterUnfreeze.filter((result) => result.outcome === "Refreshed")).toHaveLength(1);
    expect(await f.storedPairIsCurrent()).toBe(true);

    f.platform.setFrozen(true);
    await runTicks(f, front, 30);
    f.platform.setFrozen(false);
    front.clock.advance(TICK_MS);
    expect(await f.run({ endpoint: front.endpoint, force: true })).toMatchObject({ outcome: "Refreshed", reason: "refreshed" });
  });

  test("a forced run that fails again starts the backoff from its first step", async ({ front }) => {
    const f = await dueCredential(front);
    f.platform.setFrozen(true);
    await runTicks(f, front, 60);
    front.clock.advance(TICK_MS);
    expect(await f.run({ endpoint: front.endpoint, force: true })).toMatchObject({ outcome: "AppFrozen", apiCalls: 1 });
    const [next] = await runTicks(f, front, 1);
    expect(next).toMatchObject({ outcome: "AppFrozen", apiCalls: 1 });
  });

  test("a credential rejected for a day makes at most 30 platform calls; a new client secret resets the backoff", async ({ front }) => {
    const f = await dueCredential(front);
    f.platform.setSecret("rotated-in-the-console");
    const results = await runTicks(f, front, TICKS_PER_DAY);
    expect(results.every((result) => result.outcome === "CredentialRejected")).toBe(true);
    expect(platformCalls(f)).toBeLessThanOrEqual(30);
    expect(front.versionsCreated(f.config.credential.tokenSecretId)).toBe(0);

    // The operator stores the new secret: the next tick tries at once and logs in.
    f.platform.setSecret(await f.rotateClientSecret());
    const [next] = await runTicks(f, front, 1);
    expect(next).toMatchObject({ outcome: "Refreshed", reason: "logged-in-after-rejection" });
  });
});

describe("transient failures keep the normal cadence", () => {
  test("a 24-hour outage (5xx and connection errors): no LimitExceededException, and a working pair at the first tick after recovery", async ({ front }) => {
    const f = await dueCredential(front);
    const { outage, ticksToRecover } = await outageThenRecovery(f, front);
    expect(outage.every((result) => result.outcome === "RefreshFailed" && result.apiCalls > 0 && !result.backoffUntil)).toBe(true);
    expect(ticksToRecover).toBe(1);
    expect(front.versionsCreated(f.config.credential.tokenSecretId)).toBe(1);
    expect(limitExceeded(front)).toBe(0);
  }, 120_000);
});

describe("healthy operation stays inside the version quota", () => {
  test("a day of hourly tokens: one version per refresh, nothing for skipped ticks", async ({ front }) => {
    const f = await dueCredential(front);
    const results = await runTicks(f, front, TICKS_PER_DAY);
    const refreshed = results.filter((result) => result.outcome === "Refreshed").length;
    expect(refreshed).toBeGreaterThanOrEqual(24);
    expect(front.versionsCreated(f.config.credential.tokenSecretId)).toBe(refreshed);
    expect(results.every((result) => result.outcome === "Refreshed" || result.outcome === "Skipped")).toBe(true);
  });

  test("a day of 20-minute tokens: never a LimitExceededException, the refresher's own budget holds", async ({ front }) => {
    const f = await dueCredential(front, { seeded: false, accessTokenTtlSeconds: 20 * 60 });
    const results = await runTicks(f, front, TICKS_PER_DAY);
    expect(limitExceeded(front)).toBe(0);
    expect(front.quota.used(f.config.credential.tokenSecretId)).toBeLessThan(100);
    const expired = results.filter((result) => result.ttlSeconds === 0 || result.ttlSeconds === undefined).length;
    expect(expired).toBeLessThanOrEqual(2);
  });
});
