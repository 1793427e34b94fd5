// The fleet scheduler against moto (each test behind its own AWS front): due credentials found in the
// registry, the minute planned under the write budget and spread with DelaySeconds, claims that keep
// two schedulers from enqueueing one credential twice, and the overdue page, once per episode.
import { GetQueueAttributesCommand, ReceiveMessageCommand, type SendMessageBatchCommandInput } from "@aws-sdk/client-sqs";
import { describe, expect } from "vitest";
import { ENQUEUED_HOLD_MS } from "../../lambda/fleet/scheduler.js";
import { EventSink, uniqueName } from "../support/aws.js";
import { createFleetParts, fleetScheduler, type FleetParts } from "../support/fleet.js";
import { test } from "../protocol/front.js";

const MINUTE = 60_000;
const operator = "arn:aws:iam::123456789012:role/operator";

/** A scheduler as scheduler-handler.ts wires it, capturing its log lines and the batches it sends. */
function scheduler(parts: FleetParts, options: { writeBudgetPerSecond?: number; eventBusName?: string } = {}) {
  const lines: Record<string, unknown>[] = [];
  const batches: SendMessageBatchCommandInput[] = [];
  parts.clients.sqs.middlewareStack.add(
    (next) => async (args) => {
      if ((args.input as SendMessageBatchCommandInput).Entries) batches.push(args.input as SendMessageBatchCommandInput);
      return next(args);
    },
    { step: "initialize", name: `capture-${uniqueName("batches")}` },
  );
  const { run, clock } = fleetScheduler(parts, { ...options, write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { run, lines, batches, clock };
}

/** Registers `cred-000`, `cred-001`, … at `at` (AWS's time: the front's clock). */
async function register(parts: FleetParts, count: number, at: number): Promise<string[]> {
  const names = Array.from({ length: count }, (_, i) => `cred-${String(i).padStart(3, "0")}`);
  for (const name of names) await registerOne(parts, name, at);
  return names;
}

function registerOne(parts: FleetParts, name: string, at: number) {
  return parts.registry.register(
    { name, dialect: "iot", clientSecretId: `token-refresher/customers/${name}/client`, tokenSecretId: `token-refresher/customers/${name}/token`, endpointUrl: "https://iot.example.com:8743" },
    { principal: operator, at },
  );
}

async function queued(parts: FleetParts): Promise<{ visible: number; delayed: number }> {
  const answer = await parts.clients.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: parts.workQueueUrl, AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed"] }),
  );
  return { visible: Number(answer.Attributes?.ApproximateNumberOfMessages), delayed: Number(answer.Attributes?.ApproximateNumberOfMessagesDelayed) };
}

describe("a minute of the scheduler", () => {
  test("enqueues every due credential that fits, spread over the minute, and holds each until its run records", async ({ front }) => {
    const parts = await createFleetParts(front.endpoint);
    const names = await register(parts, 30, front.clock.now());
    const s = scheduler(parts, { writeBudgetPerSecond: 4 });
    const result = await s.run();
    expect(result).toMatchObject({ due: 30, enqueued: 30, deferred: 0, held: 0 });
    expect([...result.enqueuedCredentials].sort()).toEqual(names);
    // 4 writes/s = 2 refreshes/s: two messages per second of delay.
    const delays = s.batches.flatMap((batch) => batch.Entries!.map((entry) => entry.DelaySeconds!));
    expect(delays).toEqual(Array.from({ length: 30 }, (_, i) => Math.floor(i / 2)));
    expect(s.batches.every((batch) => batch.Entries!.length <= 10)).toBe(true);
    expect(await queued(parts)).toEqual({ visible: 2, delayed: 28 });
    const first = (await parts.registry.read("cred-000"))!;
    expect(first.retryAt! - s.clock.now()).toBeGreaterThan(ENQUEUED_HOLD_MS - MINUTE);
    expect(s.lines[0]).toMatchObject({ Fleet: "customers", DueCredentials: 30, EnqueuedCredentials: 30, DeferredCredentials: 0, OverdueCredentials: 0, held: 0 });
    expect((s.lines[0]!._aws as { CloudWatchMetrics: { Dimensions: string[][] }[] }).CloudWatchMetrics[0]!.Dimensions).toEqual([["Fleet"]]);

    // The next minute finds them due but held: nothing is sent twice.
    front.clock.advance(MINUTE);
    expect(await s.run()).toMatchObject({ due: 30, enqueued: 0, held: 30 });
  });

  test("what the write budget does not fit stays due for the next minute, unclaimed", async ({ front }) => {
    const parts = await createFleetParts(front.endpoint);
    await register(parts, 75, front.clock.now());
    const s = scheduler(parts, { writeBudgetPerSecond: 2 });
    expect(await s.run()).toMatchObject({ due: 75, enqueued: 60, deferred: 15 });
    expect(s.batches.flatMap((batch) => batch.Entries!.map((entry) => entry.DelaySeconds!)).at(-1)).toBe(59);
    const deferred = (await parts.registry.list()).filter((item) => item.retryAt === undefined);
    expect(deferred).toHaveLength(15);
    front.clock.advance(MINUTE);
    expect(await s.run()).toMatchObject({ due: 75, enqueued: 15, deferred: 0, held: 60 });
  });

  test("two schedulers running at once enqueue each credential exactly once", async ({ front }) => {
    const parts = await createFleetParts(front.endpoint);
    const names = await register(parts, 40, front.clock.now());
    const [a, b] = await Promise.all([scheduler(parts).run(), scheduler(parts).run()]);
    expect(a.enqueued + b.enqueued).toBe(40);
    expect([...a.enqueuedCredentials, ...b.enqueuedCredentials].sort()).toEqual(names);
    const { visible, delayed } = await queued(parts);
    expect(visible + delayed).toBe(40);
  });

  test("a batch SQS refuses is given back: its credentials are due at the next minute", async ({ front }) => {
    const parts = await createFleetParts(front.endpoint);
    await register(parts, 12, front.clock.now());
    const fault = front.inject({ service: "sqs", operation: "SendMessageBatch", fault: "fail", error: { status: 500, type: "InternalError", message: "injected" }, times: Infinity });
    const s = scheduler(parts);
    expect(await s.run()).toMatchObject({ due: 12, enqueued: 0 });
    expect(fault.applied).toBeGreaterThanOrEqual(2);
    expect((await parts.registry.list()).filter((item) => item.retryAt === undefined)).toHaveLength(12);
    fault.remove();
    expect(await s.run()).toMatchObject({ due: 12, enqueued: 12, held: 0 });
  });
});

describe("overdue credentials (computed from the registry)", () => {
  test("are counted every minute and paged once per episode with a Token Refresh Overdue event naming the credential", async ({ front }) => {
    const parts = await createFleetParts(front.endpoint);
    const sink = await EventSink.create();
    const now = front.clock.now();
    await register(parts, 3, now);
    // cred-000: its run failed and its token has 3 minutes left; cred-001: fine; cred-002: never refreshed, registered 20 minutes ago.
    await parts.registry.recordRun("cred-000", { outcome: "RefreshFailed", reason: "NetworkError", at: now, stored: { nextDueAt: now - 12 * MINUTE, expiresAt: now + 3 * MINUTE }, retryAt: now + 5 * MINUTE });
    await parts.registry.recordRun("cred-001", { outcome: "Refreshed", reason: "refreshed", at: now, stored: { nextDueAt: now + 45 * MINUTE, expiresAt: now + 60 * MINUTE } });
    await parts.registry.delete("cred-002");
    await registerOne(parts, "cred-002", now - 20 * MINUTE);
    const s = scheduler(parts, { eventBusName: sink.busName });
    const first = await s.run();
    expect(first.overdue.map((item) => item.credential).sort()).toEqual(["cred-000", "cred-002"]);
    expect([...first.announced].sort()).toEqual(["cred-000", "cred-002"]);
    expect(s.lines[0]).toMatchObject({ OverdueCredentials: 2, level: "WARN", overdueCredentials: expect.arrayContaining(["cred-000", "cred-002"]) as unknown });
    const events = await sink.drain();
    expect(events.map((event) => event["detail-type"])).toEqual(["Token Refresh Overdue", "Token Refresh Overdue"]);
    const paged = events.find((event) => event.detail.credential === "cred-000")!;
    expect(paged.detail).toMatchObject({ fleet: "customers", expiresAt: new Date(now + 3 * MINUTE).toISOString(), lastOutcome: "RefreshFailed", lastReason: "NetworkError" });
    expect(events.find((event) => event.detail.credential === "cred-002")!.detail).toMatchObject({ fleet: "customers", expiresAt: "none", lastOutcome: "none", lastRunAt: "none" });

    // Still overdue a minute later: counted, not paged again.
    front.clock.advance(MINUTE);
    const second = await s.run();
    expect(second.overdue).toHaveLength(2);
    expect(second.announced).toEqual([]);
    expect(await sink.drain()).toEqual([]);

    // A run that refreshes it ends the episode.
    await parts.registry.recordRun("cred-000", { outcome: "Refreshed", reason: "refreshed", at: s.clock.now(), stored: { nextDueAt: s.clock.now() + 45 * MINUTE, expiresAt: s.clock.now() + 60 * MINUTE } });
    expect((await parts.registry.read("cred-000"))!.overdueSince).toBeUndefined();
    expect((await s.run()).overdue.map((item) => item.credential)).toEqual(["cred-002"]);
  });
});

// The queue's messages name the credential and nothing else (the worker reads the rest with the run's own session).
describe("the work message", () => {
  test("is the credential's name", async ({ front }) => {
    const parts = await createFleetParts(front.endpoint);
    await register(parts, 1, front.clock.now());
    await scheduler(parts).run();
    const answer = await parts.clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: parts.workQueueUrl, MaxNumberOfMessages: 10 }));
    expect(answer.Messages?.map((message) => JSON.parse(message.Body!) as unknown)).toEqual([{ credential: "cred-000" }]);
  });
});
