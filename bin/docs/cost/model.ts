// The cost model of docs/cost.md: $ per credential-month from usage (calls, invocations, metric-hours,
// log bytes, alarms, secrets) times the price table (./prices.ts). `npm run bench` feeds it counted
// usage (test/bench/cost.ts); docs/cost.md is generated from the documented usage below, and
// test/docs/cost.test.ts checks that a counted day matches it.
import { PRICES, type PriceId } from "./prices.js";

/** AWS bills a month as 730 hours. */
export const HOURS_PER_MONTH = 730;
const DAYS_PER_MONTH = HOURS_PER_MONTH / 24;

/** AWS calls by `<service>:<Operation>` (the service's signing name, as the AWS front logs it). */
export type CallCounts = Readonly<Record<string, number>>;

export interface Usage {
  readonly price: PriceId;
  readonly quantity: number;
  /** What is counted, for the breakdown. */
  readonly what: string;
}

export interface CostLine extends Usage {
  readonly usd: number;
}

/** What each call uses of each price; a call missing here fails the model, so a new call gets priced before it is counted. */
const CALL_UNITS: Readonly<Record<string, Partial<Record<PriceId, number>>>> = {
  // Secrets Manager decrypts the version's data key with KMS to read it, and asks KMS for a new one to store a value.
  "secretsmanager:GetSecretValue": { secretsApiCalls: 1, kmsRequests: 1 },
  "secretsmanager:PutSecretValue": { secretsApiCalls: 1, kmsRequests: 1 },
  "secretsmanager:UpdateSecretVersionStage": { secretsApiCalls: 1 },
  "secretsmanager:DescribeSecret": { secretsApiCalls: 1 },
  // The state and registry items are under 1 KB; reads are strongly consistent (1 RRU up to 4 KB).
  "dynamodb:GetItem": { dynamodbReads: 1 },
  "dynamodb:UpdateItem": { dynamodbWrites: 1 },
  "dynamodb:PutItem": { dynamodbWrites: 1 },
  "events:PutEvents": { customEvents: 1 },
  "sqs:SendMessage": { sqsRequests: 1 },
  "sqs:ReceiveMessage": { sqsRequests: 1 },
  "sqs:DeleteMessage": { sqsRequests: 1 },
  "sts:AssumeRole": { stsRequests: 1 },
};

/** The usage of `count` times `calls`. */
export function callUsage(calls: CallCounts, count = 1): Usage[] {
  const units = new Map<PriceId, { quantity: number; what: Set<string> }>();
  for (const [call, times] of Object.entries(calls)) {
    const prices = CALL_UNITS[call];
    if (!prices) throw new Error(`cost model: no price for the call ${call}; add it to CALL_UNITS (bin/docs/cost/model.ts)`);
    for (const [price, perCall] of Object.entries(prices) as [PriceId, number][]) {
      const entry = units.get(price) ?? { quantity: 0, what: new Set<string>() };
      entry.quantity += times * perCall * count;
      entry.what.add(call.split(":")[1]!);
      units.set(price, entry);
    }
  }
  return [...units].map(([price, { quantity, what }]) => ({ price, quantity, what: [...what].join(", ") }));
}

export function priced(usage: readonly Usage[]): CostLine[] {
  return usage.filter((line) => line.quantity > 0).map((line) => ({ ...line, usd: (line.quantity * PRICES[line.price].usd) / PRICES[line.price].per }));
}

export const totalUsd = (lines: readonly CostLine[]): number => lines.reduce((sum, line) => sum + line.usd, 0);

/** The lines by price, summed (a breakdown per service item). */
export function byPrice(lines: readonly CostLine[]): CostLine[] {
  const merged = new Map<PriceId, CostLine>();
  for (const line of lines) {
    const seen = merged.get(line.price);
    merged.set(line.price, seen ? { ...seen, quantity: seen.quantity + line.quantity, usd: seen.usd + line.usd, what: `${seen.what}; ${line.what}` } : line);
  }
  return [...merged.values()];
}

/** What the figures assume besides counted usage (docs/cost.md, "Assumptions"). */
export const ASSUMPTIONS = {
  /** The dedicated construct's default schedule. */
  scheduleSeconds: 300,
  /** An access token lives one hour (IoT's, and a common OAuth2 `expires_in`). */
  tokenLifetimeSeconds: 3_600,
  /** The default refresh window: a token is refreshed with 15 minutes left, so every 45 minutes. */
  refreshWindowSeconds: 900,
  /** Billed duration of one invocation: an assumption, rounded up from the runs `npm run bench` measures locally (docs/cost.md). */
  invocationSeconds: 0.3,
  /** The default memory. */
  memoryMb: 256,
  /** Lambda's own START, END and REPORT lines per invocation. */
  platformLogBytesPerInvocation: 350,
  /** The default log retention: storage holds three months of lines. */
  logRetentionMonths: 3,
} as const;

export type Assumptions = typeof ASSUMPTIONS;

/** Refreshes of one credential in a month: one per token lifetime less the window. */
export const refreshesPerMonth = (a: Assumptions = ASSUMPTIONS): number => (HOURS_PER_MONTH * 3_600) / (a.tokenLifetimeSeconds - a.refreshWindowSeconds);

/** One Lambda invocation's usage, `count` times. */
function invocations(count: number, what: string, a: Assumptions): Usage[] {
  return [
    { price: "lambdaRequests", quantity: count, what },
    { price: "lambdaArmDuration", quantity: count * a.invocationSeconds * (a.memoryMb / 1024), what: `${what} × ${a.invocationSeconds} s × ${a.memoryMb} MB` },
  ];
}

/** Log lines ingested in a month, and what the retention keeps of them. */
function logs(bytesPerMonth: number, what: string, a: Assumptions): Usage[] {
  return [
    { price: "logIngestion", quantity: bytesPerMonth, what },
    { price: "logStorage", quantity: bytesPerMonth * a.logRetentionMonths, what: `${a.logRetentionMonths} months kept` },
  ];
}

/** What a day of one dedicated credential did: counted by `npm run bench`, or documented below. */
export interface DedicatedDay {
  /** Scheduled invocations. */
  readonly invocations: number;
  /** AWS calls of all runs. */
  readonly calls: CallCounts;
  /** Σ over the day's hours of the distinct metrics declared in that hour (CloudWatch bills each metric per hour sent). */
  readonly metricHours: number;
  /** Bytes of the runs' own log lines (the EMF line, and any warning). */
  readonly logBytes: number;
}

/** What the synthesized stack bills for each credential whatever it does. */
export interface StackFacts {
  /** Metrics read by standard alarms (one per single-metric alarm). */
  readonly alarmMetrics: number;
  readonly secrets: number;
}

/** A dedicated credential's month: its day 30.4 times, and its stack's alarms and secrets. */
export function dedicatedMonth(day: DedicatedDay, stack: StackFacts, a: Assumptions = ASSUMPTIONS): Usage[] {
  const runs = day.invocations * DAYS_PER_MONTH;
  return [
    { price: "secrets", quantity: stack.secrets, what: "client and token secret" },
    { price: "alarmMetrics", quantity: stack.alarmMetrics, what: `${stack.alarmMetrics} standard alarms` },
    { price: "metrics", quantity: (day.metricHours * DAYS_PER_MONTH) / HOURS_PER_MONTH, what: `${day.metricHours / 24} metric(s) sent every hour` },
    ...invocations(runs, `${Math.round(runs).toLocaleString("en-US")} scheduled runs`, a),
    ...callUsage(day.calls, DAYS_PER_MONTH),
    ...logs((day.logBytes + day.invocations * a.platformLogBytesPerInvocation) * DAYS_PER_MONTH, "EMF line + Lambda's START/END/REPORT per run", a),
  ];
}

/**
 * The AWS calls of one run of `runRefresh` (docs/design.md, "Flow"; docs/protocol.md), by what the run found.
 * test/docs/cost.test.ts counts them against moto behind the AWS front and fails when they change.
 */
export const RUN_CALLS = {
  /** Not due: read the token, read the state item, report. */
  skipped: { "secretsmanager:GetSecretValue": 1, "dynamodb:GetItem": 1 },
  /** Due: also the client secret, the lease, the re-read under the lease, store and promote, release, and the event. */
  refreshed: {
    "secretsmanager:GetSecretValue": 3,
    "dynamodb:GetItem": 1,
    "dynamodb:UpdateItem": 2,
    "secretsmanager:PutSecretValue": 1,
    "secretsmanager:UpdateSecretVersionStage": 1,
    "events:PutEvents": 1,
  },
} as const satisfies Record<string, CallCounts>;

/** Bytes of one run's EMF line, rounded up from the counted ones (`npm run bench` prints them). */
export const EMF_LINE_BYTES = { skipped: 800, refreshed: 800 } as const;

/** The dedicated construct's alarms and secrets at its defaults (test/docs/cost.test.ts checks them against a synthesized stack). */
export const DEDICATED_STACK: StackFacts = { alarmMetrics: 7, secrets: 2 };

/** Metrics a healthy dedicated credential sends each hour at the construct's defaults: `AccessTokenTtl` (docs/cost.md). */
export const HEALTHY_METRICS = 1;

/** The sum of some call lists, each `times` times. */
export function addCalls(...lists: readonly (readonly [CallCounts, number])[]): Record<string, number> {
  const sum: Record<string, number> = {};
  for (const [calls, times] of lists) for (const [call, count] of Object.entries(calls)) sum[call] = (sum[call] ?? 0) + count * times;
  return sum;
}

/** A healthy day at the defaults, from the documented call lists. */
export function documentedDedicatedDay(a: Assumptions = ASSUMPTIONS): DedicatedDay {
  const invocationsPerDay = 86_400 / a.scheduleSeconds;
  const refreshes = refreshesPerMonth(a) / DAYS_PER_MONTH;
  const skips = invocationsPerDay - refreshes;
  return {
    invocations: invocationsPerDay,
    calls: addCalls([RUN_CALLS.skipped, skips], [RUN_CALLS.refreshed, refreshes]),
    metricHours: 24 * HEALTHY_METRICS,
    logBytes: skips * EMF_LINE_BYTES.skipped + refreshes * EMF_LINE_BYTES.refreshed,
  };
}

/**
 * One fleet refresh (docs/fleet.md): the calls around `runRefresh` in the scheduler and the worker,
 * the run's own calls, and what a call count does not show (index writes, query reads).
 */
export interface FleetRefresh {
  readonly calls: CallCounts;
  /** Worker invocations per refresh (1 with a batch size of 1). */
  readonly invocations: number;
  /** Write units on the `due` index: the scheduler's mark (projection ALL) and the worker's new `nextDueAt` (the key moves: 2). */
  readonly indexWriteUnits: number;
  /** Read units of the scheduler's query per credential found due (a 1 MB page holds hundreds of items). */
  readonly queryReadUnits: number;
  readonly logBytes: number;
}

/** What a fleet pays whatever the number of credentials (docs/fleet.md), per month. */
export interface FleetFixed {
  readonly alarmMetrics: number;
  /** Metrics the `GROUP BY Credential` Metrics Insights alarm analyzes: the failing credentials' series. */
  readonly metricsInsightsAlarmMetrics: number;
  /** Metrics sent all month: per-fleet aggregates and the scheduler's counts. */
  readonly metrics: number;
  /** Per-credential failure metrics, in metric-months: only failing credentials send them. */
  readonly failureMetricMonths: number;
  readonly schedulerInvocations: number;
  readonly schedulerQueryReadUnits: number;
  /** The event source mapping's receives that find the queue empty. */
  readonly idleReceives: number;
  readonly logBytes: number;
}

/** A fleet credential's month at `credentials` credentials: two secrets, its refreshes, and its share of the fixed part. */
export function fleetMonth(refresh: FleetRefresh, fixed: FleetFixed, credentials: number, a: Assumptions = ASSUMPTIONS): Usage[] {
  const refreshes = refreshesPerMonth(a);
  const share = (quantity: number) => quantity / credentials;
  const fixedShare = `÷ ${credentials.toLocaleString("en-US")} credentials`;
  return [
    { price: "secrets", quantity: 2, what: "client and token secret" },
    ...callUsage(refresh.calls, refreshes),
    ...invocations(refresh.invocations * refreshes, `${Math.round(refreshes).toLocaleString("en-US")} worker runs`, a),
    { price: "dynamodbWrites", quantity: refresh.indexWriteUnits * refreshes, what: "due index" },
    { price: "dynamodbReads", quantity: refresh.queryReadUnits * refreshes, what: "scheduler query" },
    ...logs(refresh.logBytes * refreshes, "worker lines", a),
    { price: "alarmMetrics", quantity: share(fixed.alarmMetrics), what: `${fixed.alarmMetrics} fleet alarms ${fixedShare}` },
    { price: "metricsInsightsAlarmMetrics", quantity: share(fixed.metricsInsightsAlarmMetrics), what: `GROUP BY Credential alarm ${fixedShare}` },
    { price: "metrics", quantity: share(fixed.metrics + fixed.failureMetricMonths), what: `${fixed.metrics} fleet metrics + failing credentials' metrics ${fixedShare}` },
    ...invocations(share(fixed.schedulerInvocations), `scheduler ${fixedShare}`, a),
    { price: "dynamodbReads", quantity: share(fixed.schedulerQueryReadUnits), what: `scheduler queries ${fixedShare}` },
    { price: "sqsRequests", quantity: share(fixed.idleReceives), what: `idle receives ${fixedShare}` },
    ...logs(share(fixed.logBytes), `scheduler lines ${fixedShare}`, a),
  ];
}

/** How many credentials the fleet figure is for. */
export const FLEET_CREDENTIALS = 1_000;

/**
 * The calls of one fleet refresh around `runRefresh`, from docs/fleet.md (the fleet runtime is not
 * counted yet): the scheduler enqueues and marks the item; the worker receives, assumes the run role,
 * takes a write-budget token, reads the item, runs, records the outcome, and deletes the message.
 */
export const FLEET_WRAPPER_CALLS = {
  "sqs:SendMessage": 1,
  "dynamodb:UpdateItem": 3,
  "sqs:ReceiveMessage": 1,
  "sts:AssumeRole": 1,
  "dynamodb:GetItem": 1,
  "sqs:DeleteMessage": 1,
} as const satisfies CallCounts;

/** A fleet refresh as documented: the wrapper's calls plus a dedicated refreshing run's (the same `runRefresh`). */
export function documentedFleetRefresh(runCalls: CallCounts = RUN_CALLS.refreshed): FleetRefresh {
  return {
    calls: addCalls([FLEET_WRAPPER_CALLS, 1], [runCalls, 1]),
    invocations: 1,
    indexWriteUnits: 3,
    queryReadUnits: 0.5,
    logBytes: EMF_LINE_BYTES.refreshed + 200 + ASSUMPTIONS.platformLogBytesPerInvocation,
  };
}

/** The fleet's fixed part as documented (docs/fleet.md, "Telemetry and paging at constant cost"). */
export function documentedFleetFixed(credentials: number = FLEET_CREDENTIALS): FleetFixed {
  const minutes = HOURS_PER_MONTH * 60;
  /** 1 % of the credentials failing at any time, each sending RefreshFailed and one cause. */
  const failing = credentials / 100;
  return {
    // OverdueCredentials, the scheduler's heartbeat, worker errors, the dead-letter queue.
    alarmMetrics: 4,
    metricsInsightsAlarmMetrics: failing,
    // 8 run aggregates with dimension Fleet (no RefreshTokenTtl) and the scheduler's 4 counts.
    metrics: 12,
    failureMetricMonths: failing * 2,
    schedulerInvocations: minutes,
    // 8 shard queries a minute, 0.5 RRU each at least.
    schedulerQueryReadUnits: minutes * 8 * 0.5,
    // 5 pollers long-polling 20 s each.
    idleReceives: 5 * ((HOURS_PER_MONTH * 3_600) / 20),
    // One line of counts per minute.
    logBytes: minutes * (600 + ASSUMPTIONS.platformLogBytesPerInvocation),
  };
}
