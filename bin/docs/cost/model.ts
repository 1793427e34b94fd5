// The cost model of docs/cost.md: $ per credential-month from usage (calls, invocations, metric-hours,
// log bytes, alarms, secrets) times the price table (./prices.ts). `npm run bench` feeds it counted
// usage (test/bench/cost.ts); docs/cost.md is generated from the documented usage below, and
// test/docs/cost.test.ts checks that a counted dedicated day and a counted fleet refresh match it.
import { DUE_SHARDS } from "../../../lambda/settings.js";
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
  // The scheduler's due-index query: index reads are eventually consistent (0.5 RRU per 4 KB); an idle
  // shard's page is empty. The items a page returns are priced per refresh (FLEET_ESTIMATES).
  "dynamodb:Query": { dynamodbReads: 0.5 },
  "events:PutEvents": { customEvents: 1 },
  "sqs:SendMessage": { sqsRequests: 1 },
  // Up to 10 messages of a few bytes each: one request.
  "sqs:SendMessageBatch": { sqsRequests: 1 },
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
 * What a fleet's own code calls and logs (docs/fleet.md), per refresh and per scheduler minute, and
 * the alarms its stack bills: counted by `npm run bench` (test/support/counted-fleet.ts, and the
 * synthesized fleet stack), or as documented (`documentedFleetUsage`).
 */
export interface FleetUsage {
  /** What one due credential adds to its scheduler minute: its claim and its message. */
  readonly enqueue: CallCounts;
  /** The worker's calls for one message, `runRefresh`'s included. */
  readonly worker: CallCounts;
  /** A scheduler minute that finds nothing due: what the fleet calls every minute whatever its size. */
  readonly idleMinute: CallCounts;
  /** Bytes of the worker's lines per refresh (without Lambda's own). */
  readonly workerLogBytes: number;
  /** Bytes of the scheduler's lines per minute (without Lambda's own). */
  readonly minuteLogBytes: number;
  /** Distinct metrics a healthy fleet sends every hour: the runs' aggregates and the scheduler's counts, dimension `Fleet`. */
  readonly metrics: number;
  /** Metrics the fleet's standard alarms read (its Metrics Insights alarm is priced per series it analyzes). */
  readonly alarmMetrics: number;
}

/**
 * The fleet's calls besides `runRefresh`'s (docs/fleet.md, "Shape"). `npm run bench` counts them
 * against moto behind the AWS front and prints what differs; test/docs/cost.test.ts fails when they change.
 */
export const FLEET_CALLS = {
  /** Every scheduler minute: one due-index query per shard (a shard with more than a 1 MB page of due items pages on). */
  idleMinute: { "dynamodb:Query": DUE_SHARDS },
  /** A due credential's claim, and its message: counted alone in its minute; up to 10 credentials share a batch, so an upper bound. */
  enqueue: { "dynamodb:UpdateItem": 1, "sqs:SendMessageBatch": 1 },
  /** The worker around `runRefresh`: the run session, the registry read, the write budget, the outcome record. */
  worker: { "sts:AssumeRole": 1, "dynamodb:GetItem": 1, "dynamodb:UpdateItem": 2 },
  /**
   * Lambda's SQS event source receives the message and deletes it once the worker returns: outside our
   * code, so never counted here; one of each for a batch of one (docs/fleet.md, "Batch size").
   */
  eventSource: { "sqs:ReceiveMessage": 1, "sqs:DeleteMessage": 1 },
} as const satisfies Record<string, CallCounts>;

/** Bytes of a worker's refresh line and of a scheduler's minute line, rounded up from the counted ones (`npm run bench` prints them). */
export const FLEET_LINE_BYTES = { refresh: 1_200, minute: 600 } as const;

/** Metrics a healthy fleet sends every hour: the runs' 8 aggregates (every run metric but `RefreshTokenTtl`) and the scheduler's 4 counts. */
export const FLEET_METRICS = 12;

/** Metrics the fleet's standard alarms read: overdue, the scheduler's heartbeat, worker errors, the dead-letter queue (docs/fleet.md, "Alarms"). */
export const FLEET_ALARM_METRICS = 4;

/** The fleet's usage as documented above. */
export function documentedFleetUsage(): FleetUsage {
  return {
    enqueue: FLEET_CALLS.enqueue,
    worker: addCalls([FLEET_CALLS.worker, 1], [RUN_CALLS.refreshed, 1]),
    idleMinute: FLEET_CALLS.idleMinute,
    workerLogBytes: FLEET_LINE_BYTES.refresh,
    minuteLogBytes: FLEET_LINE_BYTES.minute,
    metrics: FLEET_METRICS,
    alarmMetrics: FLEET_ALARM_METRICS,
  };
}

/**
 * What the fleet's figure estimates because nothing here can count it (docs/cost.md, "What stays
 * estimated"): moto reports no consumed capacity, no Lambda event source polls here, and a healthy
 * fleet has no failing credentials to count.
 */
export const FLEET_ESTIMATES = {
  /** Write units on the `due` index per refresh (projection ALL): the claim rewrites the item there, the run's record moves its key (a delete and a put). */
  indexWriteUnits: 3,
  /** Read units of the scheduler's query per credential found due: an item under 1 KB of an eventually consistent page, budgeted at a whole 4 KB page. */
  queryReadUnits: 0.5,
  /** Credentials failing at any time: each sends `RefreshFailed` and its cause per credential, and is a series the Metrics Insights alarm analyzes. */
  failingShare: 0.01,
  /** Lambda's SQS pollers, each long-polling this long: the receives that find the queue empty, all month. */
  pollers: 5,
  longPollSeconds: 20,
} as const;

/** A fleet credential's month at `credentials` credentials: two secrets, its refreshes, and its share of the fixed part. */
export function fleetMonth(usage: FleetUsage, credentials: number, a: Assumptions = ASSUMPTIONS, e: typeof FLEET_ESTIMATES = FLEET_ESTIMATES): Usage[] {
  const refreshes = refreshesPerMonth(a);
  const minutes = HOURS_PER_MONTH * 60;
  const share = (quantity: number) => quantity / credentials;
  const fixedShare = `÷ ${credentials.toLocaleString("en-US")} credentials`;
  const failing = credentials * e.failingShare;
  const idleReceives = e.pollers * ((HOURS_PER_MONTH * 3_600) / e.longPollSeconds);
  return [
    { price: "secrets", quantity: 2, what: "client and token secret" },
    ...callUsage(addCalls([usage.enqueue, 1], [usage.worker, 1], [FLEET_CALLS.eventSource, 1]), refreshes),
    ...invocations(refreshes, `${Math.round(refreshes).toLocaleString("en-US")} worker runs`, a),
    { price: "dynamodbWrites", quantity: e.indexWriteUnits * refreshes, what: "due index (estimate)" },
    { price: "dynamodbReads", quantity: e.queryReadUnits * refreshes, what: "scheduler query, the items found (estimate)" },
    ...logs((usage.workerLogBytes + a.platformLogBytesPerInvocation) * refreshes, "worker lines", a),
    { price: "alarmMetrics", quantity: share(usage.alarmMetrics), what: `${usage.alarmMetrics} fleet alarms ${fixedShare}` },
    { price: "metricsInsightsAlarmMetrics", quantity: share(failing), what: `GROUP BY Credential alarm over the failing credentials (estimate) ${fixedShare}` },
    { price: "metrics", quantity: share(usage.metrics + failing * 2), what: `${usage.metrics} fleet metrics + failing credentials' metrics (estimate) ${fixedShare}` },
    ...invocations(share(minutes), `scheduler ${fixedShare}`, a),
    ...callUsage(usage.idleMinute, share(minutes)).map((line) => ({ ...line, what: `scheduler's ${line.what} ${fixedShare}` })),
    { price: "sqsRequests", quantity: share(idleReceives), what: `idle receives (estimate) ${fixedShare}` },
    ...logs(share(minutes * (usage.minuteLogBytes + a.platformLogBytesPerInvocation)), `scheduler lines ${fixedShare}`, a),
  ];
}

/** How many credentials the fleet figure is for. */
export const FLEET_CREDENTIALS = 1_000;
