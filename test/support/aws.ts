import { randomUUID } from "node:crypto";
import { CloudWatchClient, DescribeAlarmsCommand, PutMetricAlarmCommand } from "@aws-sdk/client-cloudwatch";
import { CreateEventBusCommand, DescribeRuleCommand, EventBridgeClient, PutRuleCommand, PutTargetsCommand } from "@aws-sdk/client-eventbridge";
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from "@aws-sdk/client-secrets-manager";
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { CREDENTIAL_FIELDS, RUNTIME_FIELDS, credentialSpec, runtimeSettings, type RefresherConfig, type RuntimeSettings } from "../../lambda/config/index.js";
import type { CredentialField, RuntimeField } from "../../lambda/config/table.js";
import { Telemetry } from "../../lambda/telemetry/telemetry.js";
import { recordOutput } from "./leak-guard.js";

/** Real SDK clients; test/setup-env.ts points them at the suite's moto_server. */
export const secretsClient = () => new SecretsManagerClient({});
export const eventsClient = () => new EventBridgeClient({});

export const uniqueName = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

export async function createSecret(name: string, value: string | object): Promise<string> {
  const answer = await secretsClient().send(
    new CreateSecretCommand({ Name: name, SecretString: typeof value === "string" ? value : JSON.stringify(value) }),
  );
  return answer.ARN!;
}

/**
 * What a plain `put-secret-value` does in AWS: a new version that becomes AWSCURRENT. Done as put +
 * explicit move because moto's plain put after an UpdateSecretVersionStage leaves AWSCURRENT on two versions.
 */
export async function putAsCurrent(name: string, value: object): Promise<string> {
  const client = secretsClient();
  const current = await readCurrent(name);
  const put = await client.send(new PutSecretValueCommand({ SecretId: name, SecretString: JSON.stringify(value), VersionStages: ["OPERATOR"] }));
  await client.send(
    new UpdateSecretVersionStageCommand({ SecretId: name, VersionStage: "AWSCURRENT", MoveToVersionId: put.VersionId, RemoveFromVersionId: current.versionId }),
  );
  return put.VersionId!;
}

/** What `pause` and `resume` switch, as the stack creates it: the credential's schedule rule and its alarms (paging on-call). */
export interface Switches {
  readonly ruleName: string;
  readonly alarmNames: string[];
  /** SCHEDULE_RULE_NAME and ALARM_NAMES, as the stack sets them on the function. */
  readonly env: Record<string, string>;
  /** The rule's state and whether the alarms' actions are on (one value: they are switched together). */
  read(): Promise<{ readonly scheduleRule: "enabled" | "disabled"; readonly alarmActions: "on" | "off" }>;
}

export async function createSwitches(alarmCount = 2): Promise<Switches> {
  const ruleName = uniqueName("schedule");
  await eventsClient().send(new PutRuleCommand({ Name: ruleName, ScheduleExpression: "rate(5 minutes)", State: "ENABLED" }));
  const alarmNames = Array.from({ length: alarmCount }, () => uniqueName("AccessTokenTtl"));
  const alarms = new CloudWatchClient({});
  for (const name of alarmNames) {
    await alarms.send(
      new PutMetricAlarmCommand({
        AlarmName: name,
        Namespace: "TokenRefresher",
        MetricName: "AccessTokenTtl",
        Statistic: "Minimum",
        Period: 300,
        EvaluationPeriods: 1,
        Threshold: 300,
        ComparisonOperator: "LessThanOrEqualToThreshold",
        TreatMissingData: "breaching",
        AlarmActions: ["arn:aws:sns:us-east-1:123456789012:on-call"],
      }),
    );
  }
  return {
    ruleName,
    alarmNames,
    env: { SCHEDULE_RULE_NAME: ruleName, ALARM_NAMES: alarmNames.join(",") },
    async read() {
      const actions = new Set(((await alarms.send(new DescribeAlarmsCommand({ AlarmNames: alarmNames }))).MetricAlarms ?? []).map((alarm) => alarm.ActionsEnabled));
      if (actions.size !== 1) throw new Error(`the alarms' actions differ: ${[...actions].join(", ")}`);
      const rule = await eventsClient().send(new DescribeRuleCommand({ Name: ruleName }));
      return { scheduleRule: rule.State === "ENABLED" ? "enabled" : "disabled", alarmActions: [...actions][0] ? "on" : "off" };
    },
  };
}

export interface CurrentSecret {
  readonly versionId: string;
  readonly text: string;
  readonly json: Record<string, unknown>;
}

/** Reads AWSCURRENT explicitly: moto's stage-less read can return a stale version. */
export async function readCurrent(name: string): Promise<CurrentSecret> {
  const answer = await secretsClient().send(new GetSecretValueCommand({ SecretId: name, VersionStage: "AWSCURRENT" }));
  const text = answer.SecretString ?? "";
  return { versionId: answer.VersionId!, text, json: parseOrEmpty(text) };
}

/** The secret's JSON object, or {} for an empty or non-JSON value (tests of malformed secrets compare `text`). */
function parseOrEmpty(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** Version id → staging labels. */
export async function versionStages(name: string): Promise<Record<string, string[]>> {
  const answer = await secretsClient().send(new DescribeSecretCommand({ SecretId: name }));
  return answer.VersionIdsToStages ?? {};
}

export async function versionCount(name: string): Promise<number> {
  const answer = await secretsClient().send(new ListSecretVersionIdsCommand({ SecretId: name, IncludeDeprecated: true }));
  return answer.Versions?.length ?? 0;
}

/** Everything a run wrote to stdout (EMF + log line), parsed, plus the metric values. */
export class CapturedTelemetry {
  readonly lines: Record<string, unknown>[] = [];
  readonly raw: string[] = [];

  constructor(readonly eventBusName: string) {}

  telemetry(namespace = "TokenRefresher", events: EventBridgeClient = eventsClient()): Telemetry {
    return new Telemetry({ namespace, eventBusName: this.eventBusName, events, write: (line) => this.capture(line) });
  }

  /** The telemetry a run with `runtime` reports through, its metric policy included (as in the Lambda), captured. */
  forRuntime(runtime: RuntimeSettings, events: EventBridgeClient = eventsClient()): Telemetry {
    return Telemetry.forRuntime(runtime, events, { write: (line) => this.capture(line) });
  }

  private capture(line: string): void {
    this.raw.push(line);
    recordOutput(line);
    this.lines.push(JSON.parse(line) as Record<string, unknown>);
  }

  /** Values of one metric across runs, in order (undefined where the run did not emit it). */
  metric(name: string): (number | undefined)[] {
    return this.lines.map((line) => line[name] as number | undefined);
  }

  last(): Record<string, unknown> {
    const line = this.lines.at(-1);
    if (!line) throw new Error("no telemetry line was written");
    return line;
  }
}

export interface DeliveredEvent {
  readonly source: string;
  readonly "detail-type": string;
  readonly detail: Record<string, unknown>;
}

/** A custom bus whose every token-refresher event moto delivers to an SQS queue we can read. */
export class EventSink {
  private constructor(
    readonly busName: string,
    private readonly queueUrl: string,
  ) {}

  static async create(): Promise<EventSink> {
    const busName = uniqueName("bus");
    const events = eventsClient();
    const sqs = new SQSClient({});
    await events.send(new CreateEventBusCommand({ Name: busName }));
    const queue = await sqs.send(new CreateQueueCommand({ QueueName: uniqueName("events") }));
    const attributes = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queue.QueueUrl, AttributeNames: ["QueueArn"] }));
    await events.send(
      new PutRuleCommand({ Name: "all", EventBusName: busName, EventPattern: JSON.stringify({ source: ["token-refresher"] }) }),
    );
    await events.send(
      new PutTargetsCommand({ Rule: "all", EventBusName: busName, Targets: [{ Id: "queue", Arn: attributes.Attributes!.QueueArn }] }),
    );
    return new EventSink(busName, queue.QueueUrl!);
  }

  async drain(): Promise<DeliveredEvent[]> {
    const answer = await new SQSClient({}).send(
      new ReceiveMessageCommand({ QueueUrl: this.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
    );
    return (answer.Messages ?? []).map((message) => JSON.parse(message.Body!) as DeliveredEvent);
  }
}

/** A test credential's settings, flat: credential and runtime fields of the settings table (canonical names and units). */
export type TestSettings = Partial<Record<CredentialField | RuntimeField, unknown>>;

/**
 * A refresher configuration built by the product's own builders (lambda/config) from the settings
 * table's fields: fast timeouts and no events unless overridden.
 */
export function testConfig(overrides: TestSettings): RefresherConfig {
  const values: TestSettings = {
    name: "test-credential",
    httpTimeoutMs: 2_000,
    runBudgetMs: 8_000,
    leaseSeconds: 30,
    stateTableName: "token-refresher-state",
    awsRequestTimeoutMs: 2_000,
    eventBusName: "",
    ...overrides,
  };
  const pick = (fields: readonly string[]) => Object.fromEntries(Object.entries(values).filter(([field]) => fields.includes(field)));
  return { credential: credentialSpec(pick(CREDENTIAL_FIELDS)), runtime: runtimeSettings(pick(RUNTIME_FIELDS)) };
}

/** `config` with some settings changed, rebuilt by the product's builders (so the change is checked as the Lambda checks it). */
export function withSettings({ credential, runtime }: RefresherConfig, overrides: TestSettings): RefresherConfig {
  return testConfig({ ...credential, ...runtime, ...overrides });
}
