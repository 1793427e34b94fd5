// npm run bench, issue 8: the write protocol's budget against Secrets Manager's real limits, in
// compressed time behind an AWS front (test/support/schedule.ts). Figures, not assertions.
import type { AwsFront } from "../support/aws-front.js";
import type { IotFixture } from "../support/iot-fixture.js";
import { TICKS_PER_DAY, limitExceeded, outageThenRecovery, platformCalls, runTicks, scheduledCredential, secretWrites } from "../support/schedule.js";
import { withFront } from "./front.js";

const RUNS = 10;

async function withCredential<T>(front: AwsFront, use: (fixture: IotFixture) => Promise<T>): Promise<T> {
  const fixture = await scheduledCredential(front);
  try {
    return await use(fixture);
  } finally {
    await fixture.close();
  }
}

/** Prints the issue-8 figures: versions and writes per run, platform calls per rejected day, ticks to recover. */
export async function benchProtocol(motoEndpoint: string): Promise<void> {
  console.log(`\n== write protocol against Secrets Manager's limits (AWS front: 100 versions per secret per 24 h, compressed time)`);
  await withFront(motoEndpoint, async (front) => {
    await withCredential(front, async (f) => {
      for (let i = 0; i < RUNS; i++) await f.run({ endpoint: front.endpoint, force: true });
      const id = f.config.credential.tokenSecretId;
      console.log(`versions per successful refresh        ${(front.versionsCreated(id) / RUNS).toFixed(2)}`);
      console.log(`Secrets Manager writes per refresh     ${(secretWrites(front, id) / RUNS).toFixed(2)}`);
      const [versions, writes] = [front.versionsCreated(id), secretWrites(front, id)];
      for (let i = 0; i < RUNS; i++) await f.run({ endpoint: front.endpoint }); // not due: skipped
      f.platform.setOutage(["serverError"]);
      for (let i = 0; i < RUNS; i++) await f.run({ endpoint: front.endpoint, force: true });
      f.platform.setOutage([]);
      console.log(`versions per failed or skipped run     ${((front.versionsCreated(id) - versions) / (2 * RUNS)).toFixed(2)} (writes: ${secretWrites(front, id) - writes})`);
    });
    await withCredential(front, async (f) => {
      f.platform.setSecret("rotated-in-the-console");
      await runTicks(f, front, TICKS_PER_DAY);
      console.log(`platform calls per rejected day        ${platformCalls(f)} (at the 5-minute schedule; ${TICKS_PER_DAY} ticks)`);
    });
    await withCredential(front, async (f) => {
      const { ticksToRecover } = await outageThenRecovery(f, front);
      console.log(`ticks to recover after a 24 h outage   ${ticksToRecover} (LimitExceededException answers: ${limitExceeded(front)})`);
    });
  });
}
