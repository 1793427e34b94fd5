// The fleet's scheduler (docs/fleet.md): once a minute it finds the due credentials in the registry's
// due index, plans the minute under the write budget, claims and enqueues what fits (SQS
// `DelaySeconds` spreads it over the minute), and reports the minute, paging for overdue credentials.
// Times are AWS's (lambda/clock.ts).
import { SendMessageBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { AwsClock } from "../clock.js";
import type { FleetSettings } from "../config/index.js";
import type { OverdueCredential, ScheduleSummary, Telemetry } from "../telemetry/telemetry.js";
import { DUE_SHARD_KEYS, type Registry, type RegistryItem } from "./registry.js";
import { WRITES_PER_REFRESH, type WorkMessage } from "./schema.js";

/** The schedule's period: the scheduler plans one minute at a time. */
export const SCHEDULE_PERIOD_SECONDS = 60;
/**
 * How long an enqueued credential is held from the scheduler after its message is due to arrive:
 * a run records its outcome long before; a message lost with its worker costs at most this delay,
 * one interval of the dedicated refresher's schedule.
 */
export const ENQUEUED_HOLD_MS = 5 * 60 * 1000;
/** A credential is not overdue before it has been due this long: one schedule period and its run. */
export const OVERDUE_GRACE_MS = 2 * 60 * 1000;
/** SQS takes at most this many messages per SendMessageBatch. */
const MESSAGES_PER_BATCH = 10;
/** Conditional claims and message batches in flight at once. */
const PARALLEL_REQUESTS = 16;

/** The settings the scheduler uses. */
export type SchedulerSettings = Pick<FleetSettings, "writeBudgetPerSecond" | "overdueThresholdSeconds"> & { readonly workQueueUrl: string };

export interface SchedulerDeps {
  readonly registry: Registry;
  readonly sqs: SQSClient;
  /** AWS's time; corrected by the registry's DynamoDB answers. */
  readonly clock: AwsClock;
  /** A fleet's telemetry (`Telemetry.forRuntime(runtime, events, { fleetName })`). */
  readonly telemetry: Telemetry;
  readonly settings: SchedulerSettings;
  readonly localNow?: () => number;
}

/** One credential to enqueue, and its message's delay. */
export interface PlannedRun {
  readonly item: RegistryItem;
  readonly delaySeconds: number;
}

/** What to do with a minute's due credentials. */
export interface MinutePlan {
  readonly enqueue: readonly PlannedRun[];
  /** Free to run, but beyond this minute's budget: still due next minute. */
  readonly deferred: readonly RegistryItem[];
  /** Held by `retryAt`: a run in flight, or a backoff. */
  readonly held: readonly RegistryItem[];
}

/** Refreshes per second the budget allows (each refresh is WRITES_PER_REFRESH writes), at least one. */
export function refreshesPerSecond(writeBudgetPerSecond: number): number {
  return Math.max(1, Math.floor(writeBudgetPerSecond / WRITES_PER_REFRESH));
}

/**
 * Plans a minute: of the due credentials not held by `retryAt`, the most urgent first (earliest
 * expiry, or earliest due time when the expiry is unknown), `refreshesPerSecond` for each second of
 * the minute, each second's share delayed by that many seconds; the rest is deferred.
 */
export function planMinute(due: readonly RegistryItem[], now: number, writeBudgetPerSecond: number): MinutePlan {
  const held = due.filter((item) => item.retryAt !== undefined && item.retryAt > now);
  const free = due.filter((item) => !held.includes(item)).sort((a, b) => urgency(a) - urgency(b) || a.credential.localeCompare(b.credential));
  const perSecond = refreshesPerSecond(writeBudgetPerSecond);
  const capacity = perSecond * SCHEDULE_PERIOD_SECONDS;
  return {
    enqueue: free.slice(0, capacity).map((item, index) => ({ item, delaySeconds: Math.floor(index / perSecond) })),
    deferred: free.slice(capacity),
    held,
  };
}

const urgency = (item: RegistryItem) => item.expiresAt ?? item.nextDueAt;

/** Since when a credential has been due: its due time, or its registration for a new one (due time 0). */
export function dueSince(item: RegistryItem): number {
  return item.nextDueAt > 0 ? item.nextDueAt : (item.createdAt ?? 0);
}

/**
 * Whether a due credential is overdue (the fleet's dead-man's switch, computed from the registry):
 * due for more than OVERDUE_GRACE_MS without a run leaving it not due, and either its stored access
 * token has less than `thresholdSeconds` left, or, when no run has seen an expiry (never refreshed),
 * it has been due for `thresholdSeconds`.
 */
export function isOverdue(item: RegistryItem, now: number, thresholdSeconds: number): boolean {
  const since = dueSince(item);
  if (item.nextDueAt > now || now - since < OVERDUE_GRACE_MS) return false;
  return item.expiresAt !== undefined ? item.expiresAt - now < thresholdSeconds * 1000 : now - since >= thresholdSeconds * 1000;
}

/** What one minute of the scheduler did. */
export interface ScheduleResult extends ScheduleSummary {
  /** Claimed and sent, by credential. */
  readonly enqueuedCredentials: readonly string[];
  /** Overdue credentials paged for this minute (the first minute of their episode). */
  readonly announced: readonly string[];
}

/** One minute of the scheduler. Throws only when the registry cannot be read; a message that cannot be sent is left due. */
export async function runSchedule(deps: SchedulerDeps): Promise<ScheduleResult> {
  const localNow = deps.localNow ?? Date.now;
  const startedAt = localNow();
  const { registry, clock, settings } = deps;
  const due = await queryAllDue(registry, clock.nowOrLocal());
  // The queries' answers set AWS's clock.
  const now = clock.now();
  const plan = planMinute(due, now, settings.writeBudgetPerSecond);
  // A claim another scheduler won, or one that failed, is simply not enqueued: still due next minute.
  const claimed = await inParallel(plan.enqueue, async (run) => {
    const until = now + run.delaySeconds * 1000 + ENQUEUED_HOLD_MS;
    return (await bestEffort(registry.markEnqueued(run.item, until, now), "claim")) ? [{ ...run, until }] : [];
  });
  const sent = await send(deps, claimed.flat());

  const overdue = due.filter((item) => isOverdue(item, now, settings.overdueThresholdSeconds)).map(overdueFacts);
  // A page that could not be recorded is announced at a later minute.
  const announce = await inParallel(overdue, async (item) => ((await bestEffort(registry.markOverdue(item.credential, now), "overdue mark")) ? [item] : []));
  const summary: ScheduleSummary = {
    due: due.length,
    enqueued: sent.length,
    deferred: plan.deferred.length,
    held: plan.held.length,
    overdue,
    durationMs: localNow() - startedAt,
  };
  await deps.telemetry.reportSchedule(summary, announce.flat(), new Date(clock.now()));
  return { ...summary, enqueuedCredentials: sent, announced: announce.flat().map((item) => item.credential) };
}

/** Every shard's due credentials, each shard paged through to its end. */
async function queryAllDue(registry: Registry, now: number): Promise<RegistryItem[]> {
  const shards = await Promise.all(
    DUE_SHARD_KEYS.map(async (shard) => {
      const items: RegistryItem[] = [];
      let start: Awaited<ReturnType<Registry["queryDue"]>>["next"];
      do {
        const page = await registry.queryDue(shard, now, start);
        items.push(...page.items);
        start = page.next;
      } while (start);
      return items;
    }),
  );
  return shards.flat();
}

/** Sends the claimed runs in batches; an entry SQS refused is given back to the schedule. Returns the credentials sent. */
async function send({ sqs, registry, settings }: SchedulerDeps, runs: readonly (PlannedRun & { readonly until: number })[]): Promise<string[]> {
  const batches: (typeof runs)[] = [];
  for (let start = 0; start < runs.length; start += MESSAGES_PER_BATCH) batches.push(runs.slice(start, start + MESSAGES_PER_BATCH));
  const sent = await inParallel(batches, async (batch) => {
    let refused: ReadonlySet<string>;
    try {
      const answer = await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: settings.workQueueUrl,
          Entries: batch.map((run, index) => ({
            Id: String(index),
            MessageBody: JSON.stringify({ credential: run.item.credential } satisfies WorkMessage),
            DelaySeconds: run.delaySeconds,
          })),
        }),
      );
      refused = new Set((answer.Failed ?? []).map((entry) => entry.Id ?? ""));
    } catch (error) {
      console.warn(JSON.stringify({ level: "WARN", message: "could not send a batch to the work queue; its credentials stay due", reason: error instanceof Error ? error.name : "Error" }));
      refused = new Set(batch.map((_, index) => String(index)));
    }
    const release = batch.filter((_, index) => refused.has(String(index)));
    // A claim not given back expires by itself (ENQUEUED_HOLD_MS).
    await Promise.all(release.map((run) => bestEffort(registry.releaseEnqueued(run.item.credential, run.until), "release")));
    return batch.filter((_, index) => !refused.has(String(index))).map((run) => run.item.credential);
  });
  return sent.flat();
}

/** A conditional registry write whose failure costs only a delay: false, with a warning. */
async function bestEffort(write: Promise<boolean>, what: string): Promise<boolean> {
  try {
    return await write;
  } catch (error) {
    console.warn(JSON.stringify({ level: "WARN", message: `registry ${what} failed; retried at a later minute`, reason: error instanceof Error ? error.name : "Error" }));
    return false;
  }
}

function overdueFacts(item: RegistryItem): OverdueCredential {
  return {
    credential: item.credential,
    dueSince: dueSince(item),
    ...(item.expiresAt !== undefined && { expiresAt: item.expiresAt }),
    ...(item.lastOutcome !== undefined && { lastOutcome: item.lastOutcome }),
    ...(item.lastReason !== undefined && { lastReason: item.lastReason }),
    ...(item.lastRunAt !== undefined && { lastRunAt: item.lastRunAt }),
  };
}

/** `work` over `items` with at most PARALLEL_REQUESTS at once, results in order. */
async function inParallel<T, R>(items: readonly T[], work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL_REQUESTS, items.length) }, lane));
  return results;
}
