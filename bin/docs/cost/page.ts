// docs/cost.md's tables, rendered from the price table (./prices.ts) and the cost model (./model.ts):
// `npm run docs` rewrites the marked sections of the page, and a test fails when one is stale. The
// prose around them, which argues the choices, is written by hand.
import { readFileSync } from "node:fs";
import { PRICES, PRICES_READ_ON, PRICE_REGION, type Price } from "./prices.js";
import {
  ASSUMPTIONS,
  DEDICATED_STACK,
  EMF_LINE_BYTES,
  FLEET_ALARM_METRICS,
  FLEET_CALLS,
  FLEET_CREDENTIALS,
  FLEET_ESTIMATES,
  FLEET_LINE_BYTES,
  FLEET_METRICS,
  HOURS_PER_MONTH,
  RUN_CALLS,
  dedicatedMonth,
  documentedDedicatedDay,
  documentedFleetUsage,
  fleetMonth,
  priced,
  refreshesPerMonth,
  totalUsd,
  type CallCounts,
  type CostLine,
} from "./model.js";

const PAGE = new URL("../../../docs/cost.md", import.meta.url);

const money = (usd: number) => `$${usd.toFixed(4)}`;
const number = (value: number) => value.toLocaleString("en-US", { maximumFractionDigits: value < 1 ? 4 : 2 });
const calls = (counts: CallCounts) => Object.entries(counts).map(([call, count]) => `${count} \`${call.split(":")[1]}\``).join(", ");

function amount(quantity: number, unit: string): string {
  if (unit === "bytes") return `${number(quantity / 1e6)} MB`;
  if (unit === "byte-months") return `${number(quantity / 1e6)} MB-months`;
  return `${number(quantity)} ${unit}`;
}

function unitPrice(price: Price): string {
  if (price.usd === 0) return "free";
  const usd = `$${price.usd.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 10 })}`;
  if (price.unit === "bytes") return `${usd} per GB`;
  if (price.unit === "byte-months") return `${usd} per GB-month`;
  if (price.per === 1) return `${usd} per ${price.unit.replace(/-months$/, "-month")}`;
  return `${usd} per ${price.per >= 1e6 ? `${price.per / 1e6}M` : number(price.per)} ${price.unit}`;
}

function priceTable(): string {
  const rows = Object.values(PRICES as Record<string, Price>).map((price) => {
    const sources = price.sources.map((url) => `<${url}>`).join(" ");
    return `| ${price.service} | ${price.item} | ${unitPrice(price)} | ${sources}${price.sourceDate ? ` (copy of ${price.sourceDate})` : ""} | ${price.note ?? ""} |`;
  });
  return [
    `${PRICE_REGION} list prices, without the free tier or discounts, read on ${PRICES_READ_ON} (from stored copies of the pages; official pages render some prices in tabs their copies lack, so a dated secondary source stands beside them).`,
    "",
    "| Service | Item | Price | Source | How it is billed |",
    "|---|---|---|---|---|",
    ...rows,
  ].join("\n");
}

function assumptions(): string {
  const a = ASSUMPTIONS;
  const day = documentedDedicatedDay();
  return [
    `- A month is ${HOURS_PER_MONTH} hours (${number(HOURS_PER_MONTH / 24)} days).`,
    `- An access token lives ${a.tokenLifetimeSeconds / 60} minutes and the refresh window is ${a.refreshWindowSeconds / 60} minutes, so a credential is refreshed every ${(a.tokenLifetimeSeconds - a.refreshWindowSeconds) / 60} minutes: ${number(refreshesPerMonth())} refreshes a month.`,
    `- The dedicated construct runs every ${a.scheduleSeconds / 60} minutes: ${number(day.invocations)} runs a day, ${number(day.invocations * (HOURS_PER_MONTH / 24))} a month; the runs that find the token not due are skips.`,
    `- An invocation is billed ${a.invocationSeconds} s at ${a.memoryMb} MB on arm64 (an assumption, rounded up from the runs \`npm run bench\` measures locally).`,
    `- A run's EMF line is at most ${EMF_LINE_BYTES.skipped} bytes when it skips and ${EMF_LINE_BYTES.refreshed} when it refreshes (rounded up from the counted lines); Lambda adds about ${a.platformLogBytesPerInvocation} bytes of START/END/REPORT lines per invocation; the log group keeps ${a.logRetentionMonths} months.`,
    `- A run's calls (counted against moto behind the AWS front by \`npm run bench\` and \`test/docs/cost.test.ts\`): skip ${calls(RUN_CALLS.skipped)}; refresh ${calls(RUN_CALLS.refreshed)}.`,
    "- Each `GetSecretValue` costs one KMS `Decrypt` and each `PutSecretValue` one `GenerateDataKey` (envelope encryption, one data key per version); state and registry items are under 1 KB, read strongly consistent.",
    "- A healthy credential: no failures, so at the construct's defaults it sends one metric (`AccessTokenTtl`) every hour.",
  ].join("\n");
}

function breakdown(lines: readonly CostLine[], label: string): string {
  const rows = [...lines]
    .sort((a, b) => b.usd - a.usd)
    .map((line) => {
      const price = PRICES[line.price];
      return `| ${price.service}: ${price.item} | ${line.what} | ${amount(line.quantity, price.unit)} | ${money(line.usd)} |`;
    });
  const total = totalUsd(lines);
  return ["| Item | What | Per credential-month | $ |", "|---|---|---|---|", ...rows, `| **${label}** | | | **${money(total)}** |`].join("\n");
}

function dedicated(): string {
  const day = documentedDedicatedDay();
  const now = priced(dedicatedMonth(day, DEDICATED_STACK));
  // Before the metric policy: all 9 metrics on every run (IoT always knows its refresh token's expiry), 9 alarms.
  const before = totalUsd(priced(dedicatedMonth({ ...day, metricHours: 24 * 9 }, { ...DEDICATED_STACK, alarmMetrics: 9 })));
  return [
    breakdown(now, "Total, dedicated"),
    "",
    `Before this change (every metric on every run: 9 metrics; 9 alarms), the same model gives **${money(before)}**.`,
  ].join("\n");
}

function fleet(): string {
  const e = FLEET_ESTIMATES;
  const minutes = HOURS_PER_MONTH * 60;
  return [
    `Per refresh, counted against moto behind the AWS front (\`npm run bench\`, \`test/docs/cost.test.ts\`): the scheduler claims the due credential and sends its message, ${calls(FLEET_CALLS.enqueue)} (alone in its minute: up to 10 credentials share a batch); the worker takes ${calls(FLEET_CALLS.worker)} around \`runRefresh\`'s ${calls(RUN_CALLS.refreshed)}; one worker invocation and a line of at most ${number(FLEET_LINE_BYTES.refresh)} bytes. Not counted: Lambda's SQS event source receives and deletes the message outside our code, ${calls(FLEET_CALLS.eventSource)}.`,
    "",
    `Fixed per fleet and month: every minute a scheduler invocation (${number(minutes)}) with ${calls(FLEET_CALLS.idleMinute)} (one per shard of the \`due\` index; counted in an idle minute) and a line of at most ${number(FLEET_LINE_BYTES.minute)} bytes; ${FLEET_METRICS} fleet metrics (counted: the runs' aggregates and the scheduler's counts); ${FLEET_ALARM_METRICS} standard alarms (read from the synthesized fleet stack) and the Metrics Insights alarm.`,
    "",
    `Estimated, not counted: ${e.indexWriteUnits} write units on the \`due\` index and ${e.queryReadUnits} read units of the scheduler's query per refresh (moto reports no consumed capacity); ${number(e.pollers * ((HOURS_PER_MONTH * 3_600) / e.longPollSeconds))} idle receives a month (${e.pollers} pollers, ${e.longPollSeconds} s long polls: Lambda's event source does not run here); ${e.failingShare * 100} % of the credentials failing at any time, each sending two metrics and analyzed by the Metrics Insights alarm (a healthy test fleet has none).`,
    "",
    breakdown(priced(fleetMonth(documentedFleetUsage(), FLEET_CREDENTIALS)), `Total, fleet at ${number(FLEET_CREDENTIALS)} credentials`),
  ].join("\n");
}

const SECTIONS: Readonly<Record<string, () => string>> = { prices: priceTable, assumptions, dedicated, fleet };

/** docs/cost.md with every generated section rendered anew; a missing section's markers are an error. */
export function renderCostPage(page: string = readFileSync(PAGE, "utf8")): string {
  let rendered = page;
  for (const [name, render] of Object.entries(SECTIONS)) {
    const begin = `<!-- generated:${name} (npm run docs) -->`;
    const end = `<!-- /generated:${name} -->`;
    const from = rendered.indexOf(begin);
    const to = rendered.indexOf(end);
    if (from < 0 || to < from) throw new Error(`docs/cost.md: the markers of the generated section "${name}" are missing (${begin} ... ${end})`);
    rendered = `${rendered.slice(0, from + begin.length)}\n${render()}\n${rendered.slice(to)}`;
  }
  return rendered;
}
