// A fleet's AWS parts in moto, shaped as the fleet construct creates them (docs/fleet.md), and the
// Lambda event source's part, played in-process: pollers that receive from the work queue, hand
// batches to the worker and delete what it did not return.
import { CreateTableCommand, DynamoDBClient, UpdateTimeToLiveCommand } from "@aws-sdk/client-dynamodb";
import { CreateRoleCommand, IAMClient } from "@aws-sdk/client-iam";
import { CreateSecretCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { CreateQueueCommand, DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient, type Message } from "@aws-sdk/client-sqs";
import { STSClient } from "@aws-sdk/client-sts";
import type { SQSEvent } from "aws-lambda";
import { createAwsClients } from "../../lambda/aws-clients.js";
import { AwsClock } from "../../lambda/clock.js";
import { runtimeSettings, type RuntimeSettings } from "../../lambda/config/index.js";
import { WriteBudget } from "../../lambda/fleet/budget.js";
import { Registry } from "../../lambda/fleet/registry.js";
import { DUE_INDEX, REGISTRY_ATTRIBUTE, REGISTRY_KEY, REGISTRY_TTL_ATTRIBUTE } from "../../lambda/fleet/schema.js";
import { runSchedule, type ScheduleResult } from "../../lambda/fleet/scheduler.js";
import { FleetWorker, type RecordOutcome, type WorkerDeps } from "../../lambda/fleet/worker.js";
import { Telemetry } from "../../lambda/telemetry/telemetry.js";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import type { IotApp, IotPlatform } from "../../bin/local/iot-platform.js";
import type { TestPki } from "../../bin/local/pki.js";
import type { AuthServer } from "../oauth2/auth-server.js";
import { uniqueName } from "./aws.js";
import { createStateTable } from "./refresher.js";

const TEST_ACCOUNT = "123456789012";

/** Clients for the suite's front, or for a test file's own `endpoint`. */
export function fleetClients(endpoint?: string) {
  const settings = endpoint ? { endpoint } : {};
  return {
    dynamodb: new DynamoDBClient(settings),
    sqs: new SQSClient(settings),
    sts: new STSClient(settings),
    iam: new IAMClient(settings),
    secrets: new SecretsManagerClient(settings),
  };
}

/** A registry table as the fleet construct creates it: partition key `credential`, the sparse GSI `due`, TTL on `ttl`. */
export async function createRegistryTable(dynamodb: DynamoDBClient, name = uniqueName("registry")): Promise<string> {
  await dynamodb.send(
    new CreateTableCommand({
      TableName: name,
      AttributeDefinitions: [
        { AttributeName: REGISTRY_KEY, AttributeType: "S" },
        { AttributeName: REGISTRY_ATTRIBUTE.dueShard, AttributeType: "S" },
        { AttributeName: REGISTRY_ATTRIBUTE.nextDueAt, AttributeType: "N" },
      ],
      KeySchema: [{ AttributeName: REGISTRY_KEY, KeyType: "HASH" }],
      GlobalSecondaryIndexes: [
        {
          IndexName: DUE_INDEX,
          KeySchema: [
            { AttributeName: REGISTRY_ATTRIBUTE.dueShard, KeyType: "HASH" },
            { AttributeName: REGISTRY_ATTRIBUTE.nextDueAt, KeyType: "RANGE" },
          ],
          Projection: { ProjectionType: "ALL" },
        },
      ],
      BillingMode: "PAY_PER_REQUEST",
    }),
  );
  await dynamodb.send(new UpdateTimeToLiveCommand({ TableName: name, TimeToLiveSpecification: { AttributeName: REGISTRY_TTL_ATTRIBUTE, Enabled: true } }));
  return name;
}

/** A standard work queue; its URL as SQS answers it. */
export async function createWorkQueue(sqs: SQSClient): Promise<string> {
  const answer = await sqs.send(new CreateQueueCommand({ QueueName: uniqueName("work"), Attributes: { VisibilityTimeout: "30" } }));
  return answer.QueueUrl!;
}

/** The run role in moto's IAM (moto's STS answers for any ARN; the role is created as the stack would). */
export async function createRunRole(iam: IAMClient): Promise<string> {
  const trust = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${TEST_ACCOUNT}:root` }, Action: ["sts:AssumeRole", "sts:TagSession"] }] };
  const answer = await iam.send(new CreateRoleCommand({ RoleName: uniqueName("run"), AssumeRolePolicyDocument: JSON.stringify(trust) }));
  return answer.Role!.Arn!;
}

/** Everything a fleet needs in moto: registry, state table, work queue, run role. */
export interface FleetParts {
  readonly endpoint?: string;
  readonly registryTableName: string;
  readonly stateTableName: string;
  readonly workQueueUrl: string;
  readonly runRoleArn: string;
  readonly clients: ReturnType<typeof fleetClients>;
  /** The registry, through the worker's own credentials (the tests' stand-in for the CLI's). */
  readonly registry: Registry;
}

export async function createFleetParts(endpoint?: string): Promise<FleetParts> {
  const clients = fleetClients(endpoint);
  const [registryTableName, stateTableName, workQueueUrl, runRoleArn] = await Promise.all([
    createRegistryTable(clients.dynamodb),
    createStateTable(uniqueName("state"), clients.dynamodb),
    createWorkQueue(clients.sqs),
    createRunRole(clients.iam),
  ]);
  return { ...(endpoint && { endpoint }), registryTableName, stateTableName, workQueueUrl, runRoleArn, clients, registry: new Registry(clients.dynamodb, registryTableName) };
}

/** A fleet function's runtime settings for tests, built by the product's builder: fast timeouts, no events unless given. */
export function fleetRuntime(stateTableName: string, overrides: Partial<Record<keyof RuntimeSettings, unknown>> = {}): RuntimeSettings {
  return runtimeSettings({ stateTableName, httpTimeoutMs: 2_000, runBudgetMs: 8_000, leaseSeconds: 30, awsRequestTimeoutMs: 2_000, eventBusName: "", ...overrides });
}

/** A registered credential's names. */
export interface FleetCredential {
  readonly name: string;
  readonly clientSecretId: string;
  readonly tokenSecretId: string;
}

/** The credential's two secrets (names as `fleet add` makes them, unique to the test) and its registry item. */
async function addCredential(parts: FleetParts, dialect: "iot" | "oauth2", endpointUrl: string, clientSecret: object, tokenSecret: object, at: number): Promise<FleetCredential> {
  const name = uniqueName(dialect);
  const prefix = `token-refresher/${uniqueName("fleet")}/${name}`;
  const [clientSecretId, tokenSecretId] = [`${prefix}/client`, `${prefix}/token`];
  await parts.clients.secrets.send(new CreateSecretCommand({ Name: clientSecretId, SecretString: JSON.stringify(clientSecret) }));
  await parts.clients.secrets.send(new CreateSecretCommand({ Name: tokenSecretId, SecretString: JSON.stringify(tokenSecret) }));
  await parts.registry.register({ name, dialect, clientSecretId, tokenSecretId, endpointUrl }, { principal: "arn:aws:iam::123456789012:role/operator", at });
  return { name, clientSecretId, tokenSecretId };
}

/**
 * An IoT credential of a new app on `platform`, its token secret holding a valid pair that expires
 * `secondsLeft` after `now` and was issued an hour before that (so it is due when inside the window).
 */
export async function addIotCredential(
  parts: FleetParts,
  platform: IotPlatform,
  pki: TestPki,
  options: { readonly now: number; readonly secondsLeft: number; readonly accessTokenTtlSeconds?: number },
): Promise<FleetCredential & { readonly app: IotApp }> {
  const secret = `s3cr3t-${uniqueName("iot")}-${uniqueName("key")}`;
  const app = platform.addApp({ appId: uniqueName("app"), secret, ...(options.accessTokenTtlSeconds && { accessTokenTtlSeconds: options.accessTokenTtlSeconds }) });
  const pair = app.issuePair();
  const expiresAt = options.now + options.secondsLeft * 1000;
  const document = {
    accessToken: pair.accessToken,
    refreshToken: pair.refreshToken,
    tokenType: "bearer",
    scope: "default",
    expiresAt: new Date(expiresAt).toISOString(),
    refreshedAt: new Date(expiresAt - 3600 * 1000).toISOString(),
  };
  const client = { appId: app.appId, secret, caCertificate: pki.caPem, clientCertificate: pki.client.certPem, clientKey: pki.client.keyPem };
  return { ...(await addCredential(parts, "iot", platform.baseUrl, client, document, options.now)), app };
}

/** An OAuth2 credential: a new grant of `server`'s client, its token secret holding only the grant's refresh token (due at once). */
export async function addOAuth2Credential(
  parts: FleetParts,
  server: AuthServer,
  client: { readonly clientId: string; readonly clientSecret: string },
  pki: TestPki,
  now: number,
): Promise<FleetCredential & { readonly initialRefreshToken: string }> {
  const refreshToken = await server.seedRefreshToken();
  const credential = await addCredential(parts, "oauth2", server.baseUrl, { ...client, caCertificate: pki.caPem }, { refreshToken }, now);
  return { ...credential, initialRefreshToken: refreshToken };
}

/** A worker wired as worker-handler.ts wires it, against `parts`. */
export function fleetWorker(
  parts: FleetParts,
  runtime: RuntimeSettings,
  options: { fleetName?: string; writeBudgetPerSecond?: number; write?: (line: string) => void; run?: WorkerDeps["run"]; sts?: STSClient } = {},
): { worker: FleetWorker; clock: AwsClock } {
  const clock = new AwsClock();
  const aws = parts.endpoint ? { endpoint: parts.endpoint } : {};
  const own = createAwsClients(runtime.awsRequestTimeoutMs, clock, aws);
  const worker = new FleetWorker({
    fleet: { fleetName: options.fleetName ?? "test-fleet", registryTableName: parts.registryTableName, runRoleArn: parts.runRoleArn },
    runtime,
    clock,
    sts: options.sts ?? new STSClient(aws),
    budget: new WriteBudget(own.dynamodb, parts.registryTableName, options.writeBudgetPerSecond ?? 20, clock),
    aws,
    ...(options.write && { write: options.write }),
    ...(options.run && { run: options.run }),
  });
  return { worker, clock };
}

/** A scheduler wired as scheduler-handler.ts wires it, against `parts` (fleet "customers"). */
export function fleetScheduler(
  parts: FleetParts,
  options: { writeBudgetPerSecond?: number; overdueThresholdSeconds?: number; eventBusName?: string; write?: (line: string) => void } = {},
): { run: () => Promise<ScheduleResult>; clock: AwsClock } {
  const clock = new AwsClock();
  const aws = parts.endpoint ? { endpoint: parts.endpoint } : {};
  const { dynamodb } = createAwsClients(2_000, clock, aws);
  const deps = {
    registry: new Registry(dynamodb, parts.registryTableName),
    sqs: parts.clients.sqs,
    clock,
    telemetry: Telemetry.forRuntime({ metricsNamespace: "TokenRefresher", eventBusName: options.eventBusName ?? "", detailedMetrics: false }, new EventBridgeClient(aws), {
      fleetName: "customers",
      ...(options.write && { write: options.write }),
    }),
    settings: { workQueueUrl: parts.workQueueUrl, writeBudgetPerSecond: options.writeBudgetPerSecond ?? 20, overdueThresholdSeconds: options.overdueThresholdSeconds ?? 600 },
  };
  return { run: () => runSchedule(deps), clock };
}

/** An SQS event as Lambda's event source hands it over. */
export function sqsEvent(messages: readonly Pick<Message, "MessageId" | "Body" | "ReceiptHandle">[]): SQSEvent {
  return {
    Records: messages.map((message) => ({
      messageId: message.MessageId!,
      receiptHandle: message.ReceiptHandle ?? "",
      body: message.Body ?? "",
      attributes: { ApproximateReceiveCount: "1", SentTimestamp: "0", SenderId: "test", ApproximateFirstReceiveTimestamp: "0" },
      messageAttributes: {},
      md5OfBody: "",
      eventSource: "aws:sqs",
      eventSourceARN: "arn:aws:sqs:us-east-1:123456789012:work",
      awsRegion: "us-east-1",
    })),
  };
}

/**
 * Lambda's SQS event source in-process: `pollers` loops (the function's concurrency) each receive up
 * to 10 messages, call the worker and delete every message it did not return as a failure.
 */
export class QueuePump {
  readonly outcomes: RecordOutcome[] = [];
  private running = true;
  private readonly loops: Promise<void>[];

  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
    private readonly worker: FleetWorker,
    pollers: number,
  ) {
    this.loops = Array.from({ length: pollers }, () => this.poll());
  }

  /** Messages handled so far (any outcome). */
  get handled(): number {
    return this.outcomes.length;
  }

  private async poll(): Promise<void> {
    while (this.running) {
      const answer = await this.sqs.send(new ReceiveMessageCommand({ QueueUrl: this.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
      const messages = answer.Messages ?? [];
      if (messages.length === 0) continue;
      const { batchItemFailures, outcomes } = await this.worker.handle(sqsEvent(messages));
      const failed = new Set(batchItemFailures.map((failure) => failure.itemIdentifier));
      const done = messages.filter((message) => !failed.has(message.MessageId!));
      if (done.length > 0) {
        await this.sqs.send(new DeleteMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: done.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle! })) }));
      }
      this.outcomes.push(...outcomes);
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }
}
