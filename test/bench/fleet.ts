// npm run bench, the fleet's scheduler (issue 16): how long it takes to find and enqueue 10,000 due
// credentials, against moto (one Python process; DynamoDB answers a GSI query by reading the whole
// table there, so the figures are an upper bound). At the default write budget the scheduler enqueues
// 600 a minute, so 10,000 take 17 scheduler runs: each is timed, back to back. Figures, not assertions.
import { DUE_SHARD_KEYS, type Registry } from "../../lambda/fleet/registry.js";
import { refreshesPerSecond, SCHEDULE_PERIOD_SECONDS } from "../../lambda/fleet/scheduler.js";
import { createFleetParts, fleetScheduler } from "../support/fleet.js";

const CREDENTIALS = 10_000;
const WRITE_BUDGET_PER_SECOND = 20;
const PARALLEL = 32;

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function registerMany(registry: Registry, count: number): Promise<void> {
  const names = Array.from({ length: count }, (_, i) => `plant-${String(i).padStart(5, "0")}`);
  for (let start = 0; start < names.length; start += PARALLEL) {
    await Promise.all(
      names.slice(start, start + PARALLEL).map((name) =>
        registry.register(
          { name, endpointUrl: "https://iot.example.com:8743", clientSecretId: `token-refresher/bench/${name}/client`, tokenSecretId: `token-refresher/bench/${name}/token` },
          { principal: "arn:aws:iam::123456789012:role/bench", at: Date.now() },
        ),
      ),
    );
  }
}

/** Prints the time to find (all shards) and to enqueue (every scheduler run until none is left) 10,000 due credentials. */
export async function benchFleetScheduler(motoEndpoint: string): Promise<void> {
  console.log(`\n== fleet scheduler: ${CREDENTIALS.toLocaleString("en")} due credentials in moto (write budget ${WRITE_BUDGET_PER_SECOND}/s)`);
  const parts = await createFleetParts(motoEndpoint);
  const registered = performance.now();
  await registerMany(parts.registry, CREDENTIALS);
  console.log(`registered                       ${seconds(performance.now() - registered)} (setup, not the scheduler's)`);

  const found = performance.now();
  let due = 0;
  await Promise.all(
    DUE_SHARD_KEYS.map(async (shard) => {
      let start: Awaited<ReturnType<Registry["queryDue"]>>["next"];
      do {
        const page = await parts.registry.queryDue(shard, Date.now(), start);
        due += page.items.length;
        start = page.next;
      } while (start);
    }),
  );
  console.log(`found (${DUE_SHARD_KEYS.length} shards, paged)            ${seconds(performance.now() - found)} for ${due} due`);

  const scheduler = fleetScheduler(parts, {
    writeBudgetPerSecond: WRITE_BUDGET_PER_SECOND,
    write: () => undefined,
    // moto reads the whole table for each page of a GSI query: far slower than DynamoDB's 1 MB pages.
    awsRequestTimeoutMs: 120_000,
  });
  const runs: number[] = [];
  let enqueued = 0;
  for (;;) {
    const started = performance.now();
    const result = await scheduler.run();
    if (result.enqueued === 0) break;
    runs.push(performance.now() - started);
    enqueued += result.enqueued;
  }
  const total = runs.reduce((sum, ms) => sum + ms, 0);
  const perRun = refreshesPerSecond(WRITE_BUDGET_PER_SECOND) * SCHEDULE_PERIOD_SECONDS;
  console.log(`enqueued                         ${enqueued} in ${runs.length} scheduler runs of at most ${perRun} (one a minute: ${runs.length} minutes at this budget)`);
  console.log(`scheduler time, all runs         ${seconds(total)} (first run ${seconds(runs[0] ?? 0)}, slowest ${seconds(Math.max(...runs))}; each finds all ${CREDENTIALS.toLocaleString("en")} due, claims and sends its ${perRun})`);
}
