// The fleet worker against moto (each test behind its own AWS front) and the IoT simulator: one run per
// message under a session of the run role tagged with the credential, the write budget before it,
// the registry record after it; dropped messages for paused or removed credentials; and which
// failures go back to the queue (unexpected) and which are reported (expected).
import { GetItemCommand, PutItemCommand, ScanCommand } from "@aws-sdk/client-dynamodb";
import { STSClient, type AssumeRoleCommandInput } from "@aws-sdk/client-sts";
import { afterAll, beforeAll, describe, expect } from "vitest";
import type { IotPlatform } from "../../bin/local/iot-platform.js";
import type { TestPki } from "../../bin/local/pki.js";
import { AwsClock } from "../../lambda/clock.js";
import { WriteBudget } from "../../lambda/fleet/budget.js";
import { REGISTRY_KEY, WRITE_BUDGET_KEY_PREFIX } from "../../lambda/settings.js";
import { FAILURE_RETRY_MS, WriteBudgetExhaustedError } from "../../lambda/fleet/worker.js";
import { createAwsClients } from "../../lambda/aws-clients.js";
import { uniqueName } from "../support/aws.js";
import { addIotCredential, createFleetParts, startFleetPlatform, fleetRuntime, fleetWorker, sqsEvent, type FleetParts } from "../support/fleet.js";
import { FAST_RETRY } from "../support/iot-fixture.js";
import { registerSensitive } from "../support/leak-guard.js";
import { test } from "../protocol/front.js";

const MINUTE = 60_000;
let pki: TestPki;
let platform: IotPlatform;

beforeAll(async () => {
  ({ pki, platform } = await startFleetPlatform());
});
afterAll(() => platform.close());

const runtimeFor = (parts: FleetParts) => fleetRuntime(parts.stateTableName);

/** A worker for `parts` that captures its lines and the AssumeRole requests it makes. */
function worker(parts: FleetParts, options: { writeBudgetPerSecond?: number } = {}) {
  const lines: Record<string, unknown>[] = [];
  const assumed: AssumeRoleCommandInput[] = [];
  const sts = new STSClient({ endpoint: parts.endpoint });
  sts.middlewareStack.add(
    (next) => async (args) => {
      assumed.push(args.input as AssumeRoleCommandInput);
      return next(args);
    },
    { step: "initialize", name: "captureAssumeRole" },
  );
  const { worker: fleet, clock } = fleetWorker(parts, runtimeFor(parts), {
    ...options,
    sts,
    write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>),
    run: { retryPolicy: FAST_RETRY },
  });
  return { worker: fleet, clock, lines, assumed };
}

const message = (credential: string, id = uniqueName("msg")) => ({ MessageId: id, Body: JSON.stringify({ credential }) });

async function iotCredential(parts: FleetParts, now: number, secondsLeft = 5 * 60) {
  const credential = await addIotCredential(parts, platform, pki, { now, secondsLeft });
  registerSensitive(credential.app.currentAccessToken(), credential.app.currentRefreshToken());
  return credential;
}

describe("a message's run", () => {
  test("refreshes the credential under a run-role session tagged with its name, and records the next due time", async ({ front }) => {
    const parts = await createFleetParts(front.endpoint);
    const credential = await iotCredential(parts, front.clock.now());
    const w = worker(parts);
    front.reset();
    const { batchItemFailures, outcomes } = await w.worker.handle(sqsEvent([message(credential.name)]));
    expect(batchItemFailures).toEqual([]);
    expect(outcomes).toMatchObject([{ kind: "ran", credential: credential.name, result: { outcome: "Refreshed", reason: "refreshed", apiCalls: 1 } }]);
    registerSensitive(credential.app.currentAccessToken(), credential.app.currentRefreshToken());
    expect(credential.app.calls).toEqual({ login: 0, refresh: 1 });

    // The session: the run role, one tag naming the credential, nothing transitive.
    expect(w.assumed).toEqual([
      { RoleArn: parts.runRoleArn, RoleSessionName: `tr-${credential.name}`, DurationSeconds: 900, Tags: [{ Key: "TokenRefresherCredential", Value: credential.name }] },
    ]);
    // The worker's own credentials reached only STS; every Secrets Manager call and every state,
    // registry and write-budget item call used the session's.
    expect(front.calls().filter((call) => call.accessKeyId === "testing").map((call) => `${call.service}:${call.operation}`)).toEqual(["sts:AssumeRole"]);
    const calls = front.calls().filter((call) => call.service === "secretsmanager" || call.service === "dynamodb");
    expect(calls.length).toBeGreaterThan(8);
    expect(calls.every((call) => call.accessKeyId?.startsWith("ASIA"))).toBe(true);
    expect(calls.filter((call) => call.service === "secretsmanager").map((call) => call.operation)).toEqual(
      expect.arrayContaining(["GetSecretValue", "PutSecretValue", "UpdateSecretVersionStage"]) as unknown,
    );

    const item = (await parts.registry.read(credential.name))!;
    const [outcome] = outcomes;
    const result = outcome?.kind === "ran" ? outcome.result : undefined;
    expect(item).toMatchObject({ lastOutcome: "Refreshed", lastReason: "refreshed", expiresAt: Date.parse(result!.expiresAt!) });
    // An hour's token, refresh window 15 minutes: due again 45 minutes after the call.
    expect(item.nextDueAt).toBe(Date.parse(result!.expiresAt!) - 15 * MINUTE);
    expect(item.retryAt).toBeUndefined();
    // The run's line carries the fleet's dimension.
    expect(w.lines.find((line) => line.outcome === "Refreshed")).toMatchObject({ Fleet: "test-fleet", Credential: credential.name });
  });

  test("a paused or removed credential's message is dropped without a platform call", async ({ front }) => {
    const parts = await createFleetParts(front.endpoint);
    const paused = await iotCredential(parts, front.clock.now());
    const removed = await iotCredential(parts, front.clock.now());
    await parts.registry.setStatus(paused.name, "paused", { principal: "arn:aws:iam::123456789012:user/ana", at: front.clock.now() });
    await parts.registry.delete(removed.name);
    const { batchItemFailures, outcomes } = await worker(parts).worker.handle(sqsEvent([message(paused.name), message(removed.name)]));
    expect(batchItemFailures).toEqual([]);
    expect(outcomes.map((outcome) => outcome.kind === "dropped" && outcome.reason)).toEqual(["paused", "not-registered"]);
    expect([paused.app.calls, removed.app.calls]).toEqual([
      { login: 0, refresh: 0 },
      { login: 0, refresh: 0 },
    ]);
    expect(await parts.registry.read(removed.name)).toBeUndefined();
  });

  test("an expected failure is reported and recorded with a retry time, not returned to the queue", async ({ front }) => {
    const parts = await createFleetParts(front.endpoint);
    const credential = await iotCredential(parts, front.clock.now());
    platform.failNext("frozen");
    const w = worker(parts);
    const { batchItemFailures, outcomes } = await w.worker.handle(sqsEvent([message(credential.name)]));
    expect(batchItemFailures).toEqual([]);
    expect(outcomes).toMatchObject([{ kind: "ran", result: { outcome: "AppFrozen" } }]);
    const item = (await parts.registry.read(credential.name))!;
    expect(item).toMatchObject({ lastOutcome: "AppFrozen" });
    expect(item.retryAt! - item.lastRunAt!).toBe(FAILURE_RETRY_MS);
    expect(w.lines.find((line) => line.outcome === "AppFrozen")).toMatchObject({ Fleet: "test-fleet", AppFrozen: 1 });
  });

  test("an item edited into an invalid spec is reported as a failed run (naming the field) and retried later", async ({ front }) => {
    const parts = await createFleetParts(front.endpoint);
    const credential = await iotCredential(parts, front.clock.now());
    const raw = await parts.clients.dynamodb.send(new GetItemCommand({ TableName: parts.registryTableName, Key: { [REGISTRY_KEY]: { S: credential.name } } }));
    raw.Item!.spec!.M!.endpointUrl = { S: "http://iot.example.com" };
    await parts.clients.dynamodb.send(new PutItemCommand({ TableName: parts.registryTableName, Item: raw.Item! }));
    const { batchItemFailures, outcomes } = await worker(parts).worker.handle(sqsEvent([message(credential.name)]));
    expect(batchItemFailures).toEqual([]);
    expect(outcomes).toMatchObject([{ kind: "ran", result: { outcome: "RefreshFailed", reason: "ConfigError", errorKind: "config" } }]);
    const [outcome] = outcomes;
    expect(outcome?.kind === "ran" && outcome.result.message).toMatch(/endpointUrl/);
    expect((await parts.registry.read(credential.name))!.retryAt).toBeDefined();
    expect(credential.app.calls.refresh).toBe(0);
  });
});

describe("what goes back to the queue (batchItemFailures)", () => {
  test("only the records that failed unexpectedly: a malformed message, STS refusing, the registry unreadable", async ({ front }) => {
    const parts = await createFleetParts(front.endpoint);
    const [good, denied, unreadable] = await Promise.all([1, 2, 3].map(() => iotCredential(parts, front.clock.now())));
    const w = worker(parts);
    const failuresOf = async (...messages: { MessageId: string; Body: string }[]) => (await w.worker.handle(sqsEvent(messages))).batchItemFailures.map((failure) => failure.itemIdentifier);

    expect(await failuresOf(message(good!.name, "good"), { MessageId: "junk", Body: "{not json" })).toEqual(["junk"]);
    expect(good!.app.calls.refresh).toBe(1);

    front.inject({ service: "sts", operation: "AssumeRole", fault: "fail", error: { status: 403, type: "AccessDenied", message: "injected" } });
    expect(await failuresOf(message(denied!.name, "denied"))).toEqual(["denied"]);

    // Both of the SDK's attempts at the registry read answer 500.
    front.inject({ service: "dynamodb", operation: "GetItem", resource: parts.registryTableName, times: 2, fault: "fail", error: { status: 500, type: "InternalServerError", message: "injected" } });
    expect(await failuresOf(message(unreadable!.name, "unreadable"))).toEqual(["unreadable"]);

    expect([denied!.app.calls.refresh, unreadable!.app.calls.refresh]).toEqual([0, 0]);
    const returned = w.lines.filter((line) => line.message === "fleet worker: message returned to the queue");
    expect(returned.map((line) => line.reason)).toEqual([
      expect.stringMatching(/^MalformedMessageError: work-queue message is not JSON/),
      expect.stringMatching(/^AccessDenied/),
      expect.stringMatching(/^InternalServerError/),
    ]);
  });

  test("a message that cannot get write budget within its wait returns to the queue, and its run never starts", async ({ front }) => {
    const parts = await createFleetParts(front.endpoint);
    const credential = await iotCredential(parts, front.clock.now());
    const w = worker(parts, { writeBudgetPerSecond: 2 });
    front.reset();
    // Every second's budget is spent (other writers): the worker waits while its invocation leaves room for a run, then gives up.
    front.inject({ service: "dynamodb", operation: "UpdateItem", resource: parts.registryTableName, times: Infinity, fault: "fail", error: { status: 400, type: "ConditionalCheckFailedException", message: "The conditional request failed" } });
    const runtime = runtimeFor(parts);
    const started = Date.now();
    const { batchItemFailures, outcomes } = await w.worker.handle(sqsEvent([message(credential.name, "waits")]), { endsAt: started + runtime.runBudgetMs + 15_000 + 2_500 });
    expect(Date.now() - started).toBeGreaterThan(1_400);
    expect(batchItemFailures).toEqual([{ itemIdentifier: "waits" }]);
    expect(outcomes).toMatchObject([{ kind: "failed", error: expect.any(WriteBudgetExhaustedError) as unknown }]);
    expect(credential.app.calls.refresh).toBe(0);
    expect(front.calls({ service: "secretsmanager" })).toEqual([]);
  });
});

describe("the write budget", () => {
  test("grants at most its writes per second of AWS's clock; a spent second waits for the next", async ({ front }) => {
    const parts = await createFleetParts(front.endpoint);
    const clock = new AwsClock();
    const { dynamodb } = createAwsClients(3_000, clock, { endpoint: front.endpoint });
    const budget = new WriteBudget(dynamodb, parts.registryTableName, 4, clock);
    const taken = await Promise.all(Array.from({ length: 6 }, () => budget.take(2, Date.now() + 10_000)));
    expect(taken).toEqual([true, true, true, true, true, true]);
    // Six takes of 2 writes at 4 per second: at least three seconds, none over 4.
    const items = await parts.clients.dynamodb.send(
      new ScanCommand({ TableName: parts.registryTableName, FilterExpression: "begins_with(#key, :budget)", ExpressionAttributeNames: { "#key": REGISTRY_KEY }, ExpressionAttributeValues: { ":budget": { S: WRITE_BUDGET_KEY_PREFIX } } }),
    );
    const used = (items.Items ?? []).map((item) => Number(item.used!.N));
    expect(used.length).toBeGreaterThanOrEqual(3);
    expect(Math.max(...used)).toBeLessThanOrEqual(4);
    expect(used.reduce((sum, writes) => sum + writes, 0)).toBe(12);
    // Each expires by itself (TTL, epoch seconds) two minutes after its second.
    const item = items.Items![0]!;
    expect(Number(item.ttl!.N) - Number(item[REGISTRY_KEY]!.S!.slice(WRITE_BUDGET_KEY_PREFIX.length))).toBe(120);
  }, 20_000);
});
