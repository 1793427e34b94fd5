// The AWS front (test/support/aws-front.ts) against moto and the real SDK v3 clients: the limits it
// enforces, the faults it injects, its clock, and that everything else passes through untouched.
import {
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  ProvisionedThroughputExceededException,
  PutItemCommand,
  ThrottlingException as DynamoDbThrottlingException,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { CloudWatchClient, DescribeAlarmsCommand, DisableAlarmActionsCommand, EnableAlarmActionsCommand, PutMetricAlarmCommand } from "@aws-sdk/client-cloudwatch";
import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  InternalServiceError,
  LimitExceededException,
  PutSecretValueCommand,
  ResourceExistsException,
  SecretsManagerClient,
  SecretsManagerServiceException,
  UpdateSecretVersionStageCommand,
} from "@aws-sdk/client-secrets-manager";
import { CreateQueueCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { describe, expect, inject, onTestFinished, test, vi } from "vitest";
import { DEFAULT_VERSION_QUOTA, DEFAULT_WRITES_PER_SECOND, startAwsFront, type AwsFront, type AwsFrontOptions } from "../support/aws-front.js";
import { uniqueName } from "../support/aws.js";

const HOUR = 60 * 60 * 1000;

/** A front of this test's own in front of the suite's moto, closed when the test ends. */
async function ownFront(options: Omit<AwsFrontOptions, "upstream"> = {}): Promise<AwsFront> {
  const front = await startAwsFront({ upstream: inject("motoEndpoint"), ...options });
  onTestFinished(() => front.close());
  return front;
}

/** Without throwOnRequestTimeout the SDK's requestTimeout only logs a warning and keeps waiting. */
const timeoutHandler = (requestTimeout: number | undefined) => (requestTimeout ? { requestTimeout, throwOnRequestTimeout: true } : undefined);

/** No SDK retries unless asked: a refused or faulted call must surface, not be retried away. */
function secretsVia(front: AwsFront, options: { maxAttempts?: number; requestTimeoutMs?: number } = {}): SecretsManagerClient {
  const client = new SecretsManagerClient({
    endpoint: front.endpoint,
    maxAttempts: options.maxAttempts ?? 1,
    requestHandler: timeoutHandler(options.requestTimeoutMs),
  });
  onTestFinished(() => client.destroy());
  return client;
}

function dynamoVia(front: AwsFront, options: { maxAttempts?: number; requestTimeoutMs?: number } = {}): DynamoDBClient {
  const client = new DynamoDBClient({
    endpoint: front.endpoint,
    maxAttempts: options.maxAttempts ?? 1,
    requestHandler: timeoutHandler(options.requestTimeoutMs),
  });
  onTestFinished(() => client.destroy());
  return client;
}

async function createSecretVia(client: SecretsManagerClient, value = "v0"): Promise<{ name: string; arn: string; versionId: string }> {
  const name = uniqueName("front");
  const created = await client.send(new CreateSecretCommand({ Name: name, SecretString: value }));
  return { name, arn: created.ARN!, versionId: created.VersionId! };
}

async function createTableVia(client: DynamoDBClient): Promise<string> {
  const table = uniqueName("front-table");
  await client.send(
    new CreateTableCommand({
      TableName: table,
      BillingMode: "PAY_PER_REQUEST",
      KeySchema: [{ AttributeName: "credential", KeyType: "HASH" }],
      AttributeDefinitions: [{ AttributeName: "credential", AttributeType: "S" }],
    }),
  );
  return table;
}

const put = (client: SecretsManagerClient, secretId: string, value: string, token?: string) =>
  client.send(new PutSecretValueCommand({ SecretId: secretId, SecretString: value, ClientRequestToken: token }));

const currentValue = async (client: SecretsManagerClient, secretId: string) =>
  (await client.send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: "AWSCURRENT" }))).SecretString;

describe("version quota", () => {
  test("100 versions per secret in a rolling 24 h of the front's clock, then LimitExceededException until the window moves", async () => {
    // A generous write rate: this test is about the quota alone.
    const front = await ownFront({ writesPerSecond: 10_000 });
    expect(front.quota).toMatchObject(DEFAULT_VERSION_QUOTA);
    const secrets = secretsVia(front);
    const { name, arn } = await createSecretVia(secrets);
    for (let i = 1; i < 50; i++) await put(secrets, name, `early-${i}`);
    front.clock.advance(12 * HOUR);
    for (let i = 0; i < 50; i++) await put(secrets, arn, `late-${i}`);
    expect(front.quota.used(name)).toBe(100);

    const refused = await put(secrets, name, "one-too-many").catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(LimitExceededException);
    expect(await currentValue(secrets, name)).toBe("late-49");
    expect(front.calls({ operation: "PutSecretValue", outcome: "LimitExceededException" })).toHaveLength(1);

    // The first 50 versions leave the window 24 h after they were created; the later 50 still count.
    front.clock.advance(12 * HOUR + 1_000);
    expect(front.quota.used(arn)).toBe(50);
    await put(secrets, name, "after-the-window");
    expect(await currentValue(secrets, name)).toBe("after-the-window");
    expect(front.versionsCreated(name)).toBe(101);
  });

  test("a retry with the same ClientRequestToken is the same version, not a new one, even at the quota", async () => {
    const front = await ownFront({ versionQuota: { limit: 2 } });
    const secrets = secretsVia(front);
    const { name } = await createSecretVia(secrets);
    const token = "front-retry-token-0000000000000000000001";
    const first = await put(secrets, name, "pair-1", token);
    const retried = await put(secrets, name, "pair-1", token);
    expect(retried.VersionId).toBe(first.VersionId);
    expect(front.versionsCreated(name)).toBe(2);

    // Real Secrets Manager: same token with another value is a conflict, not a version.
    await expect(put(secrets, name, "pair-other", token)).rejects.toBeInstanceOf(ResourceExistsException);
    await expect(put(secrets, name, "pair-2")).rejects.toBeInstanceOf(LimitExceededException);
    expect(front.versionsCreated(name)).toBe(2);

    // A late retry does not re-date the version: it still leaves the window 24 h after it was created.
    front.clock.advance(23 * HOUR);
    await put(secrets, name, "pair-1", token);
    front.clock.advance(HOUR + 1_000);
    expect(front.quota.used(name)).toBe(0);
  });

  test("reset keeps the quota state unless asked", async () => {
    const front = await ownFront({ versionQuota: { limit: 1 } });
    const secrets = secretsVia(front);
    const { name } = await createSecretVia(secrets);
    front.reset();
    expect(front.calls()).toEqual([]);
    await expect(put(secrets, name, "second")).rejects.toBeInstanceOf(LimitExceededException);
    front.reset({ quota: true });
    await put(secrets, name, "second");
    expect(front.versionsCreated(name)).toBe(1);
  });
});

test("PutSecretValue and UpdateSecretVersionStage share a per-second write rate; beyond it ThrottlingException", async () => {
  const front = await ownFront({ writesPerSecond: 5 });
  expect(DEFAULT_WRITES_PER_SECOND).toBe(50);
  const secrets = secretsVia(front);
  const { name, versionId } = await createSecretVia(secrets);
  const writes = await Promise.allSettled([
    ...[1, 2, 3, 4].map((i) => put(secrets, name, `burst-${i}`)),
    ...[1, 2, 3, 4].map(() => secrets.send(new UpdateSecretVersionStageCommand({ SecretId: name, VersionStage: "MARK", MoveToVersionId: versionId }))),
  ]);
  expect(writes.filter((write) => write.status === "fulfilled")).toHaveLength(5);
  const throttled = writes.flatMap((write) => (write.status === "rejected" ? [write.reason as unknown] : []));
  expect(throttled).toHaveLength(3);
  for (const error of throttled) {
    // Secrets Manager does not model ThrottlingException: the SDK throws its service exception under that name.
    expect(error).toBeInstanceOf(SecretsManagerServiceException);
    expect((error as SecretsManagerServiceException).name).toBe("ThrottlingException");
  }
  // Reads are not writes, and a second later writes are admitted again.
  await currentValue(secrets, name);
  await vi.waitFor(() => put(secrets, name, "next-second"), { timeout: 3_000, interval: 200 });
});

describe("fault injection", () => {
  test("fail answers an AWS error without forwarding: the nth matching call, `times` times, filtered by resource", async () => {
    const front = await ownFront();
    const secrets = secretsVia(front);
    const target = await createSecretVia(secrets);
    const bystander = await createSecretVia(secrets);
    const fault = front.inject({ service: "secretsmanager", operation: "PutSecretValue", resource: target.name, nth: 2, times: 2, fault: "fail" });
    await put(secrets, bystander.name, "untouched");
    await put(secrets, target.name, "first");
    const second = await put(secrets, target.name, "second").catch((error: unknown) => error);
    expect((second as Error).name).toBe("ThrottlingException");
    // Faults queue up: a call an earlier fault takes is not seen by a later one.
    front.inject({ service: "secretsmanager", operation: "PutSecretValue", resource: target.name, fault: "fail", error: { status: 500, type: "InternalServiceError", message: "injected" } });
    await expect(put(secrets, target.name, "third")).rejects.toHaveProperty("name", "ThrottlingException");
    await expect(put(secrets, target.name, "fourth")).rejects.toBeInstanceOf(InternalServiceError);
    await put(secrets, target.name, "fifth");
    expect(await currentValue(secrets, target.name)).toBe("fifth");
    expect({ matched: fault.matched, applied: fault.applied }).toEqual({ matched: 5, applied: 2 });
    expect(front.versionsCreated(target.name)).toBe(3);

    const dynamo = dynamoVia(front);
    const table = await createTableVia(dynamo);
    front.inject({ service: "dynamodb", operation: "PutItem", resource: table, fault: "fail" });
    front.inject({ service: "dynamodb", operation: "PutItem", resource: table, fault: "fail", error: { status: 400, type: "ProvisionedThroughputExceededException", message: "injected" } });
    const item = { TableName: table, Item: { credential: { S: "c1" } } };
    await expect(dynamo.send(new PutItemCommand(item))).rejects.toBeInstanceOf(DynamoDbThrottlingException);
    await expect(dynamo.send(new PutItemCommand(item))).rejects.toBeInstanceOf(ProvisionedThroughputExceededException);
    expect((await dynamo.send(new GetItemCommand({ TableName: table, Key: { credential: { S: "c1" } } }))).Item).toBeUndefined();
    await dynamo.send(new PutItemCommand(item));
    expect((await dynamo.send(new GetItemCommand({ TableName: table, Key: { credential: { S: "c1" } } }))).Item).toBeDefined();
  });

  test("hang never answers: the client's own timeout ends the call, and close() destroys what is still hanging", async () => {
    const front = await ownFront();
    const secrets = secretsVia(front, { requestTimeoutMs: 300 });
    const { name } = await createSecretVia(secrets);
    front.inject({ service: "secretsmanager", operation: "PutSecretValue", fault: "hang" });
    await expect(put(secrets, name, "never-answered")).rejects.toHaveProperty("name", "TimeoutError");
    expect(await currentValue(secrets, name)).toBe("v0");

    const dynamo = dynamoVia(front, { requestTimeoutMs: 300 });
    const table = await createTableVia(dynamo);
    front.inject({ service: "dynamodb", operation: "GetItem", resource: table, fault: "hang" });
    await expect(dynamo.send(new GetItemCommand({ TableName: table, Key: { credential: { S: "c1" } } }))).rejects.toHaveProperty("name", "TimeoutError");
    expect(front.calls({ outcome: "hung" }).map((call) => call.operation)).toEqual(["PutSecretValue", "GetItem"]);

    // A client with no timeout at all: only the front's close() ends its call.
    const patient = secretsVia(front);
    front.inject({ service: "secretsmanager", operation: "GetSecretValue", fault: "hang" });
    const waiting = currentValue(patient, name).catch((error: unknown) => error);
    await vi.waitFor(() => expect(front.calls({ operation: "GetSecretValue", outcome: "hung" })).toHaveLength(1));
    await front.close();
    expect(await waiting).toBeInstanceOf(Error);
  });

  test("lose forwards the write to moto, then drops the answer: the write happened, and the SDK's retry with the same token is no new version", async () => {
    const front = await ownFront();
    const { name } = await createSecretVia(secretsVia(front));
    front.inject({ service: "secretsmanager", operation: "PutSecretValue", fault: "lose" });
    const unretried = await put(secretsVia(front), name, "lost-answer").catch((error: unknown) => error);
    expect(unretried).toBeInstanceOf(Error);
    expect(await currentValue(secretsVia(front), name)).toBe("lost-answer");

    front.inject({ service: "secretsmanager", operation: "PutSecretValue", fault: "lose" });
    const retried = await put(secretsVia(front, { maxAttempts: 3 }), name, "retried-after-loss");
    expect(retried.$metadata.attempts).toBe(2);
    expect(front.versionsCreated(name)).toBe(3);
    expect(front.calls({ operation: "PutSecretValue" }).map((call) => call.outcome)).toEqual(["lost", "lost", "ok"]);

    const dynamo = dynamoVia(front);
    const table = await createTableVia(dynamo);
    front.inject({ service: "dynamodb", operation: "PutItem", resource: table, fault: "lose" });
    await expect(dynamo.send(new PutItemCommand({ TableName: table, Item: { credential: { S: "c1" } } }))).rejects.toBeInstanceOf(Error);
    expect((await dynamo.send(new GetItemCommand({ TableName: table, Key: { credential: { S: "c1" } } }))).Item).toEqual({ credential: { S: "c1" } });
  });
});

test("latency delays only the matching operations", async () => {
  const front = await ownFront();
  const secrets = secretsVia(front);
  const { name } = await createSecretVia(secrets);
  const delayMs = 800;
  front.latency({ service: "secretsmanager", operation: "GetSecretValue", ms: delayMs });
  const elapsed = async (call: () => Promise<unknown>) => {
    const started = performance.now();
    await call();
    return performance.now() - started;
  };
  expect(await elapsed(() => currentValue(secrets, name))).toBeGreaterThanOrEqual(delayMs);
  expect(await elapsed(() => put(secrets, name, "not-delayed"))).toBeLessThan(delayMs);
  front.reset();
  expect(await elapsed(() => currentValue(secrets, name))).toBeLessThan(delayMs);
});

test("every answer carries a Date header from the front's clock, its own refusals included", async () => {
  const front = await ownFront({ clockStart: Date.UTC(2031, 0, 2, 3, 4, 5), versionQuota: { limit: 1 } });
  const secrets = secretsVia(front);
  const dates: string[] = [];
  secrets.middlewareStack.add(
    (next) => async (args) => {
      const result = await next(args).catch((error: { $response?: { headers: Record<string, string> } }) => {
        dates.push(error.$response?.headers.date ?? "none");
        throw error;
      });
      dates.push((result.response as { headers: Record<string, string> }).headers.date ?? "none");
      return result;
    },
    { step: "deserialize" },
  );
  const { name } = await createSecretVia(secrets);
  front.clock.advance(HOUR);
  await expect(put(secrets, name, "over-quota")).rejects.toBeInstanceOf(LimitExceededException);
  front.clock.set(Date.UTC(2040, 5, 6, 7, 8, 9));
  await currentValue(secrets, name);
  expect(dates).toEqual(["Thu, 02 Jan 2031 03:04:05 GMT", "Thu, 02 Jan 2031 04:04:05 GMT", "Wed, 06 Jun 2040 07:08:09 GMT"]);
  expect(front.calls().map((call) => new Date(call.at).toISOString().slice(0, 16))).toEqual(["2031-01-02T03:04", "2031-01-02T04:04", "2040-06-06T07:08"]);
});

test("services the front does not inspect pass through unchanged (SQS, EventBridge)", async () => {
  const front = await ownFront();
  const sqs = new SQSClient({ endpoint: front.endpoint });
  const events = new EventBridgeClient({ endpoint: front.endpoint });
  onTestFinished(() => {
    sqs.destroy();
    events.destroy();
  });
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: uniqueName("front-queue") }));
  await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: "through the front" }));
  const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 0 }));
  expect(received.Messages?.map((message) => message.Body)).toEqual(["through the front"]);
  const put = await events.send(new PutEventsCommand({ Entries: [{ Source: "front.test", DetailType: "probe", Detail: "{}" }] }));
  expect(put.FailedEntryCount).toBe(0);
  expect(front.calls().map((call) => `${call.service} ${call.operation} ${call.outcome}`)).toEqual([
    "sqs CreateQueue ok",
    "sqs SendMessage ok",
    "sqs ReceiveMessage ok",
    "events PutEvents ok",
  ]);
});

test("faults apply to any JSON-protocol operation: a hung EventBridge PutEvents ends with the client's timeout", async () => {
  const front = await ownFront();
  const events = new EventBridgeClient({ endpoint: front.endpoint, maxAttempts: 1, requestHandler: timeoutHandler(300) });
  onTestFinished(() => events.destroy());
  front.inject({ service: "events", operation: "PutEvents", fault: "hang" });
  const entries = { Entries: [{ Source: "front.test", DetailType: "probe", Detail: "{}" }] };
  await expect(events.send(new PutEventsCommand(entries))).rejects.toHaveProperty("name", "TimeoutError");
  expect((await events.send(new PutEventsCommand(entries))).FailedEntryCount).toBe(0);
  expect(front.calls({ service: "events" }).map((call) => call.outcome)).toEqual(["hung", "ok"]);
});

test("the suite's clients reach moto through the shared front", () => {
  expect(process.env.AWS_ENDPOINT_URL).toBe(inject("frontEndpoint"));
  expect(inject("frontEndpoint")).not.toBe(inject("motoEndpoint"));
});

test("CloudWatch alarm actions switch off and on through the front, which builds what moto lacks from DescribeAlarms and PutMetricAlarm", async () => {
  const front = await ownFront();
  const cloudwatch = new CloudWatchClient({ endpoint: front.endpoint, maxAttempts: 1 });
  onTestFinished(() => cloudwatch.destroy());
  const AlarmName = uniqueName("alarm");
  await cloudwatch.send(
    new PutMetricAlarmCommand({ AlarmName, Namespace: "Front", MetricName: "Probe", Statistic: "Sum", Period: 60, EvaluationPeriods: 2, Threshold: 3, ComparisonOperator: "GreaterThanThreshold", AlarmActions: ["arn:aws:sns:us-east-1:123456789012:t"] }),
  );
  const alarm = async () => (await cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: [AlarmName] }))).MetricAlarms?.[0];
  await cloudwatch.send(new DisableAlarmActionsCommand({ AlarmNames: [AlarmName] }));
  expect(await alarm()).toMatchObject({ ActionsEnabled: false, Threshold: 3, EvaluationPeriods: 2, AlarmActions: ["arn:aws:sns:us-east-1:123456789012:t"] });
  await cloudwatch.send(new EnableAlarmActionsCommand({ AlarmNames: [AlarmName] }));
  expect(await alarm()).toMatchObject({ ActionsEnabled: true });
});

test("concurrent conditional writes to one DynamoDB item: exactly one wins, as in DynamoDB (moto alone lets two through now and then)", async () => {
  const front = await ownFront();
  const dynamodb = new DynamoDBClient({ endpoint: front.endpoint, maxAttempts: 1 });
  onTestFinished(() => dynamodb.destroy());
  const TableName = uniqueName("front-cas");
  await dynamodb.send(
    new CreateTableCommand({ TableName, AttributeDefinitions: [{ AttributeName: "k", AttributeType: "S" }], KeySchema: [{ AttributeName: "k", KeyType: "HASH" }], BillingMode: "PAY_PER_REQUEST" }),
  );
  for (let round = 0; round < 20; round++) {
    const takers = [0, 1, 2, 3].map((taker) =>
      dynamodb
        .send(
          new UpdateItemCommand({
            TableName,
            Key: { k: { S: `item-${round}` } },
            UpdateExpression: "SET holder = :holder",
            ConditionExpression: "attribute_not_exists(holder)",
            ExpressionAttributeValues: { ":holder": { S: `taker-${taker}` } },
          }),
        )
        .then(() => true, () => false),
    );
    expect((await Promise.all(takers)).filter(Boolean)).toHaveLength(1);
  }
});
