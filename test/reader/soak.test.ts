// Issue 12: consumers ride through rotations. Four consumers call the simulator's protected endpoint
// through TokenReader (two services, two consumers each) while the real refresher rotates the token
// 50 times, every Secrets Manager call 20 ms slower, as in a region, by this file's own AWS front.
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { FIRST_POLL_DELAY_MS } from "../../lambda/reader/token-reader.js";
import { startAwsFront, type AwsFront } from "../support/aws-front.js";
import { IotFixture } from "../support/iot-fixture.js";
import { quantile, runRotationSoak } from "./rotation-soak.js";

const REGION_LATENCY_MS = 20;
const ROTATIONS = 50;

let front: AwsFront;
let fixture: IotFixture;

beforeAll(async () => {
  front = await startAwsFront({ upstream: inject("motoEndpoint") });
  front.latency({ service: "secretsmanager", ms: REGION_LATENCY_MS });
  fixture = await IotFixture.start();
});

afterAll(async () => {
  await fixture?.close();
  await front?.close();
});

describe("TokenReader across rotations", () => {
  it("no call fails, reads stay bounded and the added latency stays within the window plus one poll", { timeout: 90_000 }, async () => {
    const figures = await runRotationSoak({
      fixture,
      secrets: () => new SecretsManagerClient({ endpoint: front.endpoint }),
      rotations: ROTATIONS,
    });
    const windowP99 = quantile(figures.windowsMs, 0.99);
    const addedP99 = quantile(figures.addedLatencyMs, 0.99);
    const readP99 = quantile(figures.readLatencyMs, 0.99);
    // A caller's 401 comes at the earliest when the platform answers, and its retry goes out after the first read that
    // starts once the pair is AWSCURRENT. Before that read: the wait then in effect (one poll interval), and the end of
    // the read that was under way when the window closed.
    const bound = windowP99 + pollWaitAt(windowP99) + 2 * readP99 + figures.baselineMs;
    console.log(
      `soak: ${figures.rotations} rotations in ${(figures.durationMs / 1000).toFixed(1)} s, ${figures.calls} calls, ` +
        `${figures.failures} failed, ${figures.rejectedFirst} got a 401 first; window p50 ${quantile(figures.windowsMs, 0.5).toFixed(0)} ms ` +
        `p99 ${windowP99.toFixed(0)} ms; reads per rotation per reader max ${Math.max(...figures.readsPerRotation)} ` +
        `mean ${mean(figures.readsPerRotation).toFixed(2)}; read p99 ${readP99.toFixed(0)} ms; ` +
        `added latency p50 ${quantile(figures.addedLatencyMs, 0.5).toFixed(0)} ms p99 ${addedP99.toFixed(0)} ms (bound ${bound.toFixed(0)} ms), ` +
        `baseline call ${figures.baselineMs.toFixed(1)} ms`,
    );

    expect(figures.windowsMs).toHaveLength(ROTATIONS);
    // Consumers did call through the windows: rotations were ridden through, not dodged.
    expect(figures.rejectedFirst).toBeGreaterThanOrEqual(ROTATIONS);
    expect(figures.failures).toBe(0);
    expect(figures.readsPerRotation).toHaveLength(ROTATIONS * 2);
    expect(Math.max(...figures.readsPerRotation)).toBeLessThanOrEqual(10);
    expect(addedP99).toBeLessThanOrEqual(bound);
  });
});

const mean = (values: readonly number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;

/** The poll's wait in effect `elapsedMs` after the 401 (its waits double from FIRST_POLL_DELAY_MS). */
function pollWaitAt(elapsedMs: number): number {
  let wait = FIRST_POLL_DELAY_MS;
  for (let spent = 0; spent + wait < elapsedMs; spent += wait) wait *= 2;
  return wait;
}
