// Days at the 5-minute schedule in compressed time, shared by test/protocol/day.test.ts and the
// benchmark: an AWS front runs its clock forward between ticks and answers with that time in
// `Date`, which is the refresher's clock (lambda/clock.ts); the simulator's tokens age with it.
import type { RefreshResult } from "../../lambda/telemetry/telemetry.js";
import type { AwsFront } from "./aws-front.js";
import { IotFixture } from "./iot-fixture.js";

export const TICK_MS = 5 * 60 * 1000;
export const TICKS_PER_DAY = (24 * 60 * 60 * 1000) / TICK_MS;

/** A credential whose simulator ages tokens on the front's clock; `seeded`: a pair stored that is due now. */
export async function scheduledCredential(front: AwsFront, options: { seeded?: boolean; accessTokenTtlSeconds?: number } = {}): Promise<IotFixture> {
  const fixture = await IotFixture.start({
    platform: { now: () => front.clock.now(), ...(options.accessTokenTtlSeconds && { accessTokenTtlSeconds: options.accessTokenTtlSeconds }) },
  });
  if (options.seeded ?? true) await fixture.seed(60);
  fixture.platform.reset();
  return fixture;
}

/** Runs `ticks` schedule ticks, the front's clock one tick further before each. */
export async function runTicks(fixture: IotFixture, front: AwsFront, ticks: number): Promise<RefreshResult[]> {
  const results: RefreshResult[] = [];
  for (let tick = 0; tick < ticks; tick++) {
    front.clock.advance(TICK_MS);
    results.push(await fixture.run({ endpoint: front.endpoint }));
  }
  return results;
}

/** Login and refresh requests the simulator has answered since its counters were last reset. */
export const platformCalls = (fixture: IotFixture) => fixture.platform.calls.refresh + fixture.platform.calls.login;

/** Secrets Manager answers `LimitExceededException` (the version quota) seen by the front. */
export const limitExceeded = (front: AwsFront) => front.calls({ service: "secretsmanager", outcome: "LimitExceededException" }).length;

/** Secrets Manager write calls (the two the version quota and the write rate apply to) on `secretId`. */
export const secretWrites = (front: AwsFront, secretId: string) =>
  front.calls({ service: "secretsmanager", resource: secretId }).filter((call) => call.operation === "PutSecretValue" || call.operation === "UpdateSecretVersionStage").length;

/** A day of 5xx and connection errors, then the platform recovers: the ticks until a working pair is stored. */
export async function outageThenRecovery(fixture: IotFixture, front: AwsFront): Promise<{ outage: RefreshResult[]; ticksToRecover: number }> {
  fixture.platform.setOutage(["serverError", "reset", "serverErrorNoBody"]);
  const outage = await runTicks(fixture, front, TICKS_PER_DAY);
  fixture.platform.setOutage([]);
  let ticksToRecover = 0;
  while (ticksToRecover < 24) {
    ticksToRecover++;
    const [result] = await runTicks(fixture, front, 1);
    if (result?.outcome === "Refreshed" && (await fixture.storedPairIsCurrent())) break;
  }
  return { outage, ticksToRecover };
}
