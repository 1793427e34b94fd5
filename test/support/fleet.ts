// A fleet as its construct deploys it, against moto: for the fleet commands' tests, the registry
// table (with its sparse `due` index), the state table, a run role's ARN, an operator role a test
// session assumes, and the worker function's environment, built from the settings table; for the
// fleet runtime's tests, the same parts with a work queue, registered credentials, the scheduler and
// worker wired as their handlers wire them, and Lambda's SQS event source played in-process.
import { CreateTableCommand, DynamoDBClient, GetItemCommand, UpdateTimeToLiveCommand, type AttributeValue } from "@aws-sdk/client-dynamodb";
import { CreateRoleCommand, IAMClient } from "@aws-sdk/client-iam";
import { CreateSecretCommand, DescribeSecretCommand, GetResourcePolicyCommand, ResourceNotFoundException, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import { runtimeSettings, variableOf, type RuntimeSettings, type SettingField } from "../../lambda/config/index.js";
import { DUE_INDEX, DUE_SHARD_ATTRIBUTE, NEXT_DUE_AT_ATTRIBUTE, REGISTRY_KEY, REGISTRY_TTL_ATTRIBUTE } from "../../lambda/settings.js";
import { CreateQueueCommand, DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient, type Message } from "@aws-sdk/client-sqs";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import type { SQSEvent } from "aws-lambda";
import { startIotPlatform, type IotApp, type IotPlatform } from "../../bin/local/iot-platform.js";
import type { TestPki } from "../../bin/local/pki.js";
import { createAwsClients } from "../../lambda/aws-clients.js";
import { AwsClock } from "../../lambda/clock.js";
import { Registry } from "../../lambda/fleet/registry.js";
import { runSchedule, type ScheduleResult } from "../../lambda/fleet/scheduler.js";
import { FleetWorker, type RecordOutcome, type WorkerDeps } from "../../lambda/fleet/worker.js";
import { Telemetry } from "../../lambda/telemetry/telemetry.js";
import type { AuthServer } from "../oauth2/auth-server.js";
import { secretsClient, uniqueName } from "./aws.js";
import { createStateTable } from "./refresher.js";
import { storedIotPair, testPki } from "./iot-fixture.js";

export const ACCOUNT = "123456789012";

/** The registry table as the fleet construct creates it (docs/fleet.md): key `credential`, the sparse GSI `due` (dueShard, nextDueAt, projection ALL), TTL on `ttl`. */
export async function createRegistryTable(name = uniqueName("registry"), dynamodb = new DynamoDBClient({})): Promise<string> {
  await dynamodb.send(
    new CreateTableCommand({
      TableName: name,
      AttributeDefinitions: [
        { AttributeName: REGISTRY_KEY, AttributeType: "S" },
        { AttributeName: DUE_SHARD_ATTRIBUTE, AttributeType: "S" },
        { AttributeName: NEXT_DUE_AT_ATTRIBUTE, AttributeType: "N" },
      ],
      KeySchema: [{ AttributeName: REGISTRY_KEY, KeyType: "HASH" }],
      GlobalSecondaryIndexes: [
        {
          IndexName: DUE_INDEX,
          KeySchema: [
            { AttributeName: DUE_SHARD_ATTRIBUTE, KeyType: "HASH" },
            { AttributeName: NEXT_DUE_AT_ATTRIBUTE, KeyType: "RANGE" },
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

/** AWS credentials of one session. */
export interface SessionCredentials {
  readonly AWS_ACCESS_KEY_ID: string;
  readonly AWS_SECRET_ACCESS_KEY: string;
  readonly AWS_SESSION_TOKEN?: string;
}

/** The suite's default identity (test/setup-env.ts): moto's own user, no operator of any fleet. */
export const DEFAULT_CALLER: SessionCredentials = { AWS_ACCESS_KEY_ID: "testing", AWS_SECRET_ACCESS_KEY: "testing" };

/** Runs `use` with the SDK's credentials (read from the process's environment) set to `session`'s. */
export async function asCaller<T>(session: SessionCredentials, use: () => Promise<T>): Promise<T> {
  const keys = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"] as const;
  const before = Object.fromEntries(keys.map((key) => [key, process.env[key]]));
  for (const key of keys) {
    if (session[key] === undefined) delete process.env[key];
    else process.env[key] = session[key];
  }
  try {
    return await use();
  } finally {
    for (const key of keys) {
      if (before[key] === undefined) delete process.env[key];
      else process.env[key] = before[key];
    }
  }
}

export interface Fleet {
  readonly fleetName: string;
  readonly registryTableName: string;
  readonly stateTableName: string;
  readonly secretNamePrefix: string;
  readonly runRoleArn: string;
  /** An operator role on a path, and a session of it (moto's STS answers its assumed-role ARN). */
  readonly operatorRoleArn: string;
  readonly operator: SessionCredentials;
  /** The worker function's variables (the fleet construct's), as `--function` would read them. */
  readonly env: Record<string, string>;
  secretName(credential: string, kind: "client" | "token"): string;
}

export async function createFleet(): Promise<Fleet> {
  const fleetName = uniqueName("fleet");
  const registryTableName = await createRegistryTable();
  const stateTableName = await createStateTable();
  const secretNamePrefix = "token-refresher/";
  const runRoleArn = `arn:aws:iam::${ACCOUNT}:role/${uniqueName("fleet-run")}`;
  const roleName = uniqueName("fleet-operator");
  const role = await new IAMClient({}).send(
    new CreateRoleCommand({
      RoleName: roleName,
      Path: "/fleet-ops/",
      AssumeRolePolicyDocument: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: "sts:AssumeRole" }] }),
    }),
  );
  const session = await new STSClient({}).send(new AssumeRoleCommand({ RoleArn: role.Role!.Arn, RoleSessionName: "alice" }));
  const { AccessKeyId, SecretAccessKey, SessionToken } = session.Credentials!;
  const settings: Partial<Record<SettingField, string>> = {
    fleetName,
    registryTableName,
    stateTableName,
    secretNamePrefix,
    runRoleArn,
    operatorPrincipalArns: role.Role!.Arn!,
    eventBusName: "",
  };
  return {
    fleetName,
    registryTableName,
    stateTableName,
    secretNamePrefix,
    runRoleArn,
    operatorRoleArn: role.Role!.Arn!,
    operator: { AWS_ACCESS_KEY_ID: AccessKeyId!, AWS_SECRET_ACCESS_KEY: SecretAccessKey!, AWS_SESSION_TOKEN: SessionToken! },
    env: Object.fromEntries(Object.entries(settings).map(([field, value]) => [variableOf(field as SettingField), value])),
    secretName: (credential, kind) => `${secretNamePrefix}${fleetName}/${credential}/${kind}`,
  };
}

/** What moto holds of a secret: missing, scheduled for deletion, or there (its tags and resource policy). */
export type StoredSecret =
  | { readonly kind: "missing" }
  | { readonly kind: "deleting"; readonly deletedDate: Date }
  | { readonly kind: "exists"; readonly arn: string; readonly tags: Record<string, string>; readonly policy?: { Statement: Record<string, unknown>[] } };

export async function storedSecret(name: string): Promise<StoredSecret> {
  const secrets = secretsClient();
  try {
    const answer = await secrets.send(new DescribeSecretCommand({ SecretId: name }));
    if (answer.DeletedDate) return { kind: "deleting", deletedDate: answer.DeletedDate };
    const policy = (await secrets.send(new GetResourcePolicyCommand({ SecretId: name }))).ResourcePolicy;
    return {
      kind: "exists",
      arn: answer.ARN!,
      tags: Object.fromEntries((answer.Tags ?? []).map((tag) => [tag.Key!, tag.Value!])),
      ...(policy && { policy: JSON.parse(policy) as { Statement: Record<string, unknown>[] } }),
    };
  } catch (error) {
    if (error instanceof ResourceNotFoundException) return { kind: "missing" };
    throw error;
  }
}

/** An item of a table, read consistently from moto; undefined when there is none. */
export async function tableItem(tableName: string, credential: string): Promise<Record<string, AttributeValue> | undefined> {
  const answer = await new DynamoDBClient({}).send(new GetItemCommand({ TableName: tableName, Key: { credential: { S: credential } }, ConsistentRead: true }));
  return answer.Item;
}

/** Everything of `credential` the fleet holds: what a half-created or half-removed credential would leave. */
export async function leftOf(fleet: Fleet, credential: string): Promise<{ client: string; token: string; registry: boolean; state: boolean }> {
  return {
    client: (await storedSecret(fleet.secretName(credential, "client"))).kind,
    token: (await storedSecret(fleet.secretName(credential, "token"))).kind,
    registry: (await tableItem(fleet.registryTableName, credential)) !== undefined,
    state: (await tableItem(fleet.stateTableName, credential)) !== undefined,
  };
}

export const NOTHING_LEFT = { client: "missing", token: "missing", registry: false, state: false } as const;

// The fleet runtime's parts.

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

/** A standard work queue; its URL as SQS answers it. */
export async function createWorkQueue(sqs: SQSClient): Promise<string> {
  const answer = await sqs.send(new CreateQueueCommand({ QueueName: uniqueName("work"), Attributes: { VisibilityTimeout: "30" } }));
  return answer.QueueUrl!;
}

/** The run role in moto's IAM (moto's STS answers for any ARN; the role is created as the stack would). */
export async function createRunRole(iam: IAMClient): Promise<string> {
  const trust = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: ["sts:AssumeRole", "sts:TagSession"] }] };
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
    createRegistryTable(uniqueName("registry"), clients.dynamodb),
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

/** The IoT simulator of a fleet test, with the suite's PKI: its apps come from `addIotCredential`; its own is never used. */
export async function startFleetPlatform(): Promise<{ pki: TestPki; platform: IotPlatform }> {
  const pki = await testPki();
  return { pki, platform: await startIotPlatform({ pki, appId: uniqueName("unused"), secret: "unused-secret", rateLimit: false }) };
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
  const document = storedIotPair(app.issuePair(), options.now + options.secondsLeft * 1000);
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
  const worker = new FleetWorker({
    fleet: { fleetName: options.fleetName ?? "test-fleet", registryTableName: parts.registryTableName, runRoleArn: parts.runRoleArn, writeBudgetPerSecond: options.writeBudgetPerSecond ?? 20 },
    runtime,
    clock,
    sts: options.sts ?? new STSClient(aws),
    aws,
    ...(options.write && { write: options.write }),
    ...(options.run && { run: options.run }),
  });
  return { worker, clock };
}

/** A scheduler wired as scheduler-handler.ts wires it, against `parts` (fleet "customers"). */
export function fleetScheduler(
  parts: FleetParts,
  options: { writeBudgetPerSecond?: number; overdueThresholdSeconds?: number; eventBusName?: string; write?: (line: string) => void; awsRequestTimeoutMs?: number } = {},
): { run: () => Promise<ScheduleResult>; clock: AwsClock } {
  const clock = new AwsClock();
  const aws = parts.endpoint ? { endpoint: parts.endpoint } : {};
  const { dynamodb } = createAwsClients(options.awsRequestTimeoutMs ?? 2_000, clock, aws);
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
