// npm run bench, the fleet's scheduler (issue 16): finding and enqueueing 10,000 due credentials,
// against moto (one Python process, slower than DynamoDB and SQS: the figures are an upper bound).
// How fast a backlog is enqueued is the write budget's choice, not the scheduler's speed: each minute
// it finds every due credential and enqueues what the budget allows (docs/fleet.md, "Pacing"). So the
// bench times scheduler minutes as they run while 10,000 are due, at the default and at the highest
// budget, and says how many minutes the backlog takes at each. Workers would take the messages off
// the queue meanwhile; none run here, so each budget gets a queue of its own (moto's SendMessageBatch
// slows with every message a queue holds, SQS's does not). Figures, not assertions.
import { DUE_SHARD_KEYS, type Registry } from "../../lambda/fleet/registry.js";
import { refreshesPerSecond, SCHEDULE_PERIOD_SECONDS } from "../../lambda/fleet/scheduler.js";
import { setting } from "../../lambda/config/table.js";
import { createFleetParts, createWorkQueue, fleetScheduler, type FleetParts } from "../support/fleet.js";
import { withBenchEnvironment } from "./front.js";

const CREDENTIALS = 10_000;
const PARALLEL = 32;
/** Scheduler minutes timed at each budget, back to back. */
const MINUTES = 2;

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

/** Prints the time to find 10,000 due credentials (all shards), and scheduler minutes while they are due. */
export async function benchFleetScheduler(motoEndpoint: string): Promise<void> {
  await withBenchEnvironment(motoEndpoint, () => tenThousandDue(motoEndpoint));
}

async function tenThousandDue(motoEndpoint: string): Promise<void> {
  console.log(`\n== fleet scheduler: ${CREDENTIALS.toLocaleString("en")} due credentials in moto`);
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
  console.log(`found (${DUE_SHARD_KEYS.length} shards, paged)           ${seconds(performance.now() - found)} for ${due.toLocaleString("en")} due`);

  const budgetSetting = setting("writeBudgetPerSecond");
  const highest = (budgetSetting.value as { readonly max: number }).max;
  let enqueued = 0;
  for (const budget of [budgetSetting.default as number, highest]) {
    enqueued += await timeMinutes({ ...parts, workQueueUrl: await createWorkQueue(parts.clients.sqs) }, budget);
  }
  console.log(`enqueued in all                  ${enqueued.toLocaleString("en")} of ${CREDENTIALS.toLocaleString("en")} (the rest stays due for later minutes)`);
}

/** Times MINUTES scheduler runs at `budget`; returns how many they enqueued. */
async function timeMinutes(parts: FleetParts, budget: number): Promise<number> {
  const scheduler = fleetScheduler(parts, {
    writeBudgetPerSecond: budget,
    write: () => undefined,
    // moto reads the whole table for each page of a GSI query: far slower than DynamoDB's 1 MB pages.
    awsRequestTimeoutMs: 120_000,
  });
  const perMinute = refreshesPerSecond(budget) * SCHEDULE_PERIOD_SECONDS;
  let enqueued = 0;
  for (let minute = 1; minute <= MINUTES; minute++) {
    const started = performance.now();
    const result = await scheduler.run();
    enqueued += result.enqueued;
    console.log(
      `budget ${String(budget).padStart(2)}/s, minute ${minute}        ${seconds(performance.now() - started)}: found ${result.due.toLocaleString("en")} due, ` +
        `enqueued ${result.enqueued.toLocaleString("en")}, held ${result.held.toLocaleString("en")} (enqueued before), deferred ${result.deferred.toLocaleString("en")}`,
    );
  }
  console.log(`budget ${String(budget).padStart(2)}/s                   ${perMinute.toLocaleString("en")} a minute: ${Math.ceil(CREDENTIALS / perMinute)} scheduler minutes to enqueue all ${CREDENTIALS.toLocaleString("en")}`);
  return enqueued;
}
