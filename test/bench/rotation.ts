// npm run bench, issue 12: a shorter run of the reader's soak (test/reader/soak.test.ts). Prints the
// rotation window (the platform's answer to the new pair being AWSCURRENT), the consumers' failure
// rate across rotations and the reader's Secrets Manager reads per rotation. Figures, not assertions.
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { quantile, runRotationSoak } from "../reader/rotation-soak.js";
import { IotFixture } from "../support/iot-fixture.js";
import { withFront } from "./front.js";

const ROTATIONS = Number(process.env.BENCH_ROTATIONS ?? 20);
const REGION_LATENCY_MS = 20;

/** Runs the rotation soak against `motoEndpoint` behind an AWS front adding region latency to Secrets Manager. */
export async function benchRotation(motoEndpoint: string): Promise<void> {
  console.log(`\n== consumers through TokenReader while the refresher rotates (${ROTATIONS} rotations, 4 consumers, 2 readers, +${REGION_LATENCY_MS} ms per Secrets Manager call)`);
  await withFront(motoEndpoint, async (front) => {
    front.latency({ service: "secretsmanager", ms: REGION_LATENCY_MS });
    const fixture = await IotFixture.start();
    try {
      const figures = await runRotationSoak({ fixture, secrets: () => new SecretsManagerClient({ endpoint: front.endpoint }), rotations: ROTATIONS });
      const ms = (value: number) => `${value.toFixed(0)} ms`;
      const reads = figures.readsPerRotation;
      console.log(`rotation window              p50 ${ms(quantile(figures.windowsMs, 0.5))}   p99 ${ms(quantile(figures.windowsMs, 0.99))}   max ${ms(Math.max(...figures.windowsMs))}`);
      console.log(`consumer failure rate        ${((figures.failures / figures.calls) * 100).toFixed(2)} % (${figures.failures} of ${figures.calls} calls; ${figures.rejectedFirst} got a 401 and were retried)`);
      console.log(`reads per rotation (reader)  mean ${(reads.reduce((sum, value) => sum + value, 0) / reads.length).toFixed(2)}   max ${Math.max(...reads)}`);
      console.log(`added latency after a 401    p50 ${ms(quantile(figures.addedLatencyMs, 0.5))}   p99 ${ms(quantile(figures.addedLatencyMs, 0.99))}   (baseline call ${figures.baselineMs.toFixed(1)} ms)`);
    } finally {
      await fixture.close();
    }
  });
}
