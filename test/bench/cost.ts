// npm run bench, issue 16: $ per credential-month from counted usage (docs/cost.md). A dedicated
// credential, configured as the synthesized construct configures its function, runs a simulated day
// against moto behind the AWS front; its calls, metric-hours and log bytes, the template's alarms and
// secrets, times the price table (bin/docs/cost/prices.ts). A fleet credential's refresh and an idle
// scheduler minute are counted the same way (test/support/counted-fleet.ts). Figures, not assertions.
import { PRICES, PRICES_READ_ON, PRICE_REGION } from "../../bin/docs/cost/prices.js";
import {
  FLEET_CALLS,
  FLEET_CREDENTIALS,
  FLEET_ESTIMATES,
  RUN_CALLS,
  byPrice,
  dedicatedMonth,
  documentedDedicatedDay,
  documentedFleetUsage,
  fleetMonth,
  priced,
  totalUsd,
  type CallCounts,
  type CostLine,
} from "../../bin/docs/cost/model.js";
import { countScheduledRuns, functionMetricPolicy, stackFacts, type CountedRun } from "../support/counted-day.js";
import { countFleetRefresh } from "../support/counted-fleet.js";
import { TICKS_PER_DAY } from "../support/schedule.js";
import { fleetStack, refresherStack } from "../infra/support.js";
import { withFront } from "./front.js";

const usd = (value: number) => `$${value.toFixed(4)}`;
const calls = (counts: CallCounts) => Object.entries(counts).map(([call, count]) => `${call} ${count}`).join(", ");
const same = (a: CallCounts, b: CallCounts) => JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());

function printLines(lines: readonly CostLine[]): void {
  for (const line of byPrice(lines).sort((a, b) => b.usd - a.usd)) {
    const price = PRICES[line.price];
    const quantity = line.quantity.toLocaleString("en-US", { maximumFractionDigits: line.quantity < 1 ? 4 : 2 });
    console.log(`  ${`${price.service}, ${price.item}`.padEnd(70)} ${`${quantity} ${price.unit}`.padStart(28)} ${usd(line.usd).padStart(9)}`);
  }
}

/** Counted calls against the documented ones: "as documented", or both. */
function versus(counted: CallCounts, documented: CallCounts, note = ""): string {
  return `${calls(counted)} (${same(counted, documented) ? "as documented" : `differs from docs/cost.md: ${calls(documented)}`}${note && `; ${note}`})`;
}

/** The run's calls against the documented list of its kind: "as documented", or what differs. */
function versusDocumented(runs: readonly CountedRun[], outcome: keyof typeof RUN_CALLS): string {
  const ofKind = runs.filter((run) => run.outcome.toLowerCase() === outcome);
  const differing = ofKind.filter((run) => !same(run.calls, RUN_CALLS[outcome]));
  return differing.length === 0 ? `${calls(RUN_CALLS[outcome])} (all ${ofKind.length} as documented)` : `${differing.length} of ${ofKind.length} differ from docs/cost.md, e.g. ${calls(differing[0]!.calls)}`;
}

export async function benchCost(motoEndpoint: string): Promise<void> {
  console.log(`\n== $ per credential-month (docs/cost.md: ${PRICE_REGION} list prices read ${PRICES_READ_ON}, no free tier)`);
  const { template } = refresherStack();
  const stack = stackFacts(template);
  const policy = functionMetricPolicy(template);
  const counted = await withFront(motoEndpoint, (front) => countScheduledRuns(front, TICKS_PER_DAY, policy));
  const outcomes = counted.runs.map((run) => run.outcome);
  const mean = (values: readonly number[] = []) => (values.length ? Math.round(values.reduce((sum, value) => sum + value, 0) / values.length) : 0);
  console.log(
    `dedicated TokenRefresher (IoT, defaults): a simulated day of ${counted.runs.length} runs against moto behind the AWS front, ` +
      `${outcomes.filter((o) => o === "Refreshed").length} refreshed, ${outcomes.filter((o) => o === "Skipped").length} skipped; ` +
      `the synthesized stack: ${stack.alarmMetrics} alarms, ${stack.secrets} secrets; metric policy ${JSON.stringify(policy)}`,
  );
  console.log(`  calls per skipped run     ${versusDocumented(counted.runs, "skipped")}`);
  console.log(`  calls per refreshed run   ${versusDocumented(counted.runs, "refreshed")}`);
  console.log(`  metrics sent per hour     ${(counted.day.metricHours / 24).toFixed(2)}; EMF line bytes: skipped ${mean(counted.lineBytes.Skipped)}, refreshed ${mean(counted.lineBytes.Refreshed)}`);
  const dedicated = priced(dedicatedMonth(counted.day, stack));
  printLines(dedicated);
  const documented = totalUsd(priced(dedicatedMonth(documentedDedicatedDay(), stack)));
  console.log(`  dedicated, counted        ${usd(totalUsd(dedicated))} per credential-month (target <= $2.00; docs/cost.md, documented calls: ${usd(documented)})`);

  const fleetCounted = await withFront(motoEndpoint, countFleetRefresh);
  const usage = { ...fleetCounted.usage, alarmMetrics: stackFacts(fleetStack().template).alarmMetrics };
  const documentedFleet = documentedFleetUsage();
  const e = FLEET_ESTIMATES;
  console.log(
    `\nfleet at ${FLEET_CREDENTIALS.toLocaleString("en-US")} credentials: one IoT credential through a scheduler minute, the worker (${fleetCounted.outcome}) and an idle minute, ` +
      `against moto behind the AWS front; the fleet's ${FLEET_CREDENTIALS.toLocaleString("en-US")} share the fixed part; the synthesized fleet stack: ` +
      `${usage.alarmMetrics} standard alarm metrics (docs/cost.md: ${documentedFleet.alarmMetrics}) and the Metrics Insights alarm`,
  );
  console.log(`  scheduler, due minute     ${calls(fleetCounted.dueMinute)}`);
  console.log(`  scheduler, per refresh    ${versus(usage.enqueue, documentedFleet.enqueue, "the due minute less the idle one")}`);
  console.log(`  worker, per refresh       ${versus(usage.worker, documentedFleet.worker)}`);
  console.log(`  event source, per refresh ${calls(FLEET_CALLS.eventSource)} (Lambda's, outside our code: documented, not counted)`);
  console.log(`  scheduler, idle minute    ${versus(usage.idleMinute, documentedFleet.idleMinute)}`);
  console.log(
    `  fleet metrics per hour    ${usage.metrics} (docs/cost.md: ${documentedFleet.metrics}); line bytes: worker ${usage.workerLogBytes} per refresh (docs/cost.md: at most ${documentedFleet.workerLogBytes}), ` +
      `scheduler ${usage.minuteLogBytes} per minute (at most ${documentedFleet.minuteLogBytes})`,
  );
  console.log(
    `  estimated, not counted    due-index writes ${e.indexWriteUnits} WRU and query reads ${e.queryReadUnits} RRU per refresh (moto reports no consumed capacity); ` +
      `idle receives of ${e.pollers} pollers every ${e.longPollSeconds} s (no event source here); ${e.failingShare * 100} % of credentials failing (their metrics, the Metrics Insights alarm's series)`,
  );
  const fleet = priced(fleetMonth(usage, FLEET_CREDENTIALS));
  printLines(fleet);
  const fleetDocumented = totalUsd(priced(fleetMonth(documentedFleet, FLEET_CREDENTIALS)));
  console.log(`  fleet, counted            ${usd(totalUsd(fleet))} per credential-month (target <= $1.00; docs/cost.md, documented calls: ${usd(fleetDocumented)})`);
}
