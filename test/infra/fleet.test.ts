// The fleet construct's template (docs/fleet.md): what it creates, the functions' environment as the
// settings table reads it back, the roles' policies, the paging rules and alarms, its outputs, props
// checked by the settings table's rules, cdk-nag, cfn-lint, and a size that does not grow with credentials.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Duration, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import * as events from "aws-cdk-lib/aws-events";
import * as sns from "aws-cdk-lib/aws-sns";
import { beforeAll, describe, expect, it } from "vitest";
import { readSettings } from "../../lambda/config/index.js";
import { setting } from "../../lambda/config/table.js";
import { FLEET_ENVIRONMENT_FIELDS } from "../../infra/fleet/environment.js";
import { TokenRefresher, TokenRefresherFleet, type TokenRefresherFleetProps } from "../../infra/token-refresher/index.js";
import { fleetStackSize } from "../bench/fleet-template.js";
import { TemplateIam } from "../support/iam-matrix.js";
import { ACCOUNT, ENV, IOT_PROPS, REGION, cfnLint, fleetStack, nagFindings, newApp, newStack, onlyResource, rawResource, resources } from "./support.js";

type Json = Record<string, unknown>;
const props = (resource: [string, Json]) => resource[1];
/** The statements of the policies attached to a role of the template. */
function roleStatements(template: Template, roleId: string): Json[] {
  return resources(template, "AWS::IAM::Policy")
    .filter(([, p]) => (p.Roles as Json[]).some((role) => role.Ref === roleId))
    .flatMap(([, p]) => (p.PolicyDocument as { Statement: Json[] }).Statement);
}
const roleId = (template: Template, prefix: string) => resources(template, "AWS::IAM::Role").find(([id]) => id.startsWith(prefix))![0];

describe("TokenRefresherFleet, with the defaults", () => {
  let stack: Stack;
  let fleet: TokenRefresherFleet;
  let template: Template;

  beforeAll(() => {
    ({ stack, fleet, template } = fleetStack());
  });

  it("creates the registry table: partition key credential, the sparse due index (dueShard, nextDueAt), on demand, point-in-time recovery, retained", () => {
    const [id, registry] = resources(template, "AWS::DynamoDB::Table").find(([tableId]) => tableId.startsWith("FleetRegistryTable"))!;
    expect(registry).toMatchObject({
      KeySchema: [{ AttributeName: "credential", KeyType: "HASH" }],
      BillingMode: "PAY_PER_REQUEST",
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TimeToLiveSpecification: { AttributeName: "ttl", Enabled: true },
      GlobalSecondaryIndexes: [
        {
          IndexName: "due",
          KeySchema: [
            { AttributeName: "dueShard", KeyType: "HASH" },
            { AttributeName: "nextDueAt", KeyType: "RANGE" },
          ],
          Projection: { ProjectionType: "ALL" },
        },
      ],
    });
    expect(registry.AttributeDefinitions).toEqual(
      expect.arrayContaining([
        { AttributeName: "dueShard", AttributeType: "S" },
        { AttributeName: "nextDueAt", AttributeType: "N" },
      ]),
    );
    expect(rawResource(template, id)).toMatchObject({ DeletionPolicy: "Retain", UpdateReplacePolicy: "Retain" });
  });

  it("uses the stack's state table, shared with a TokenRefresher in the same stack", () => {
    const shared = newStack(newApp(), "Shared");
    const refresher = new TokenRefresher(shared, "Refresher", IOT_PROPS);
    const sharedFleet = new TokenRefresherFleet(shared, "Fleet", { fleetName: "plants" });
    expect(sharedFleet.stateTable).toBe(refresher.stateTable);
    expect(sharedFleet.alarmTopic).toBe(refresher.alarmTopic);
    const template = Template.fromStack(shared);
    expect(resources(template, "AWS::DynamoDB::Table")).toHaveLength(2);
    expect(resources(template, "AWS::SNS::Topic")).toHaveLength(1);
  });

  it("creates an encrypted, SSL-only work queue whose messages go to an encrypted dead-letter queue after 5 receives", () => {
    const queues = resources(template, "AWS::SQS::Queue");
    const [dlqId] = queues.find(([id]) => id.startsWith("FleetDeadLetterQueue"))!;
    const [, work] = queues.find(([id]) => id.startsWith("FleetWorkQueue"))!;
    expect(work).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 3600, VisibilityTimeout: 240, RedrivePolicy: { deadLetterTargetArn: { "Fn::GetAtt": [dlqId, "Arn"] }, maxReceiveCount: 5 } });
    for (const [, queue] of queues) expect(queue.SqsManagedSseEnabled).toBe(true);
    for (const [, policy] of resources(template, "AWS::SQS::QueuePolicy")) {
      expect(policy.PolicyDocument).toMatchObject({ Statement: [{ Effect: "Deny", Action: "sqs:*", Condition: { Bool: { "aws:SecureTransport": "false" } } }] });
    }
  });

  it("runs the scheduler every minute, without retries, and the worker from the queue: one message per invocation, MaximumConcurrency, partial batch failures", () => {
    const schedulerId = stack.getLogicalId(fleet.schedulerFunction.node.defaultChild as never);
    const workerId = stack.getLogicalId(fleet.workerFunction.node.defaultChild as never);
    const [, rule] = resources(template, "AWS::Events::Rule").find(([, r]) => r.ScheduleExpression !== undefined)!;
    expect(rule).toMatchObject({ Name: "Fleet-plants-fleet-schedule", ScheduleExpression: "rate(1 minute)", Targets: [{ Arn: { "Fn::GetAtt": [schedulerId, "Arn"] }, RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 } }] });
    expect(props(onlyResource(template, "AWS::Lambda::EventInvokeConfig"))).toMatchObject({ FunctionName: { Ref: schedulerId }, MaximumRetryAttempts: 0 });
    expect(props(onlyResource(template, "AWS::Lambda::EventSourceMapping"))).toEqual({
      BatchSize: 1,
      EventSourceArn: { "Fn::GetAtt": [stack.getLogicalId(fleet.workQueue.node.defaultChild as never), "Arn"] },
      FunctionName: { Ref: workerId },
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      ScalingConfig: { MaximumConcurrency: 10 },
    });
    const functions = Object.fromEntries(resources(template, "AWS::Lambda::Function"));
    expect(functions[schedulerId]).toMatchObject({ Runtime: "nodejs22.x", Architectures: ["arm64"], Timeout: 50, MemorySize: 512, Handler: "index.handler" });
    expect(functions[workerId]).toMatchObject({ Runtime: "nodejs22.x", Architectures: ["arm64"], Timeout: 40, MemorySize: 256, Handler: "index.handler" });
  });

  it("gives both functions the same environment, written through the settings table and read back by its parser", () => {
    const functions = resources(template, "AWS::Lambda::Function").map(([, f]) => (f.Environment as { Variables: Json }).Variables);
    expect(functions).toHaveLength(2);
    expect(functions[0]).toEqual(functions[1]);
    const t = TemplateIam.of(template.toJSON(), ENV);
    const env = Object.fromEntries(Object.entries(functions[0]!).map(([name, value]) => [name, typeof value === "string" ? value : (t.resolve(value as never) as string)]));
    const values = readSettings(env, FLEET_ENVIRONMENT_FIELDS, ["fleetName", "registryTableName", "workQueueUrl", "runRoleArn", "stateTableName"]);
    expect(values).toMatchObject({
      fleetName: "plants",
      registryTableName: t.logicalId("AWS::DynamoDB::Table", "FleetRegistryTable"),
      stateTableName: t.logicalId("AWS::DynamoDB::Table", "TokenRefresherStateTable"),
      runRoleArn: t.arn(t.logicalId("AWS::IAM::Role", "FleetRunRole")),
      secretNamePrefix: "token-refresher/",
      writeBudgetPerSecond: 20,
      overdueThresholdSeconds: 600,
      runBudgetMs: 25_000,
      leaseSeconds: 100,
      httpTimeoutMs: 5_000,
      metricsNamespace: "TokenRefresher",
      eventBusName: `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/default`,
    });
    expect(values.workQueueUrl).toMatch(/^https:\/\//);
    // Every variable is a setting of the table (besides Node's own option).
    expect(Object.keys(env).filter((name) => !FLEET_ENVIRONMENT_FIELDS.some((field) => setting(field).env === name))).toEqual(["NODE_OPTIONS"]);
  });

  it("gives the worker's own role only its logs, its queue and assuming the run role", () => {
    const statements = roleStatements(template, roleId(template, "FleetWorkerRole"));
    const actions = statements.flatMap((s) => [s.Action].flat() as string[]).sort();
    expect(actions).toEqual(
      ["logs:CreateLogStream", "logs:PutLogEvents", "sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ReceiveMessage", "sts:AssumeRole", "sts:TagSession"].sort(),
    );
    expect(statements.find((s) => s.Sid === "AssumeRunRole")).toMatchObject({ Resource: { "Fn::GetAtt": [roleId(template, "FleetRunRole"), "Arn"] } });
  });

  it("lets only the worker role assume the run role, with exactly one session tag, not transitive", () => {
    const [, runRole] = resources(template, "AWS::IAM::Role").find(([id]) => id.startsWith("FleetRunRole"))!;
    expect(runRole.AssumeRolePolicyDocument).toEqual({
      Version: "2012-10-17",
      Statement: [
        {
          Effect: "Allow",
          Principal: { AWS: { "Fn::GetAtt": [roleId(template, "FleetWorkerRole"), "Arn"] } },
          Action: ["sts:AssumeRole", "sts:TagSession"],
          Condition: {
            StringLike: { "aws:RequestTag/TokenRefresherCredential": "?*" },
            "ForAllValues:StringEquals": { "aws:TagKeys": ["TokenRefresherCredential"] },
            Null: { "sts:TransitiveTagKeys": "true" },
          },
        },
      ],
    });
  });

  it("gives the scheduler the due index, the registry's items, the work queue and its events, and no secret", () => {
    const statements = roleStatements(template, roleId(template, "FleetSchedulerRole"));
    const registry = stack.getLogicalId(fleet.registryTable.node.defaultChild as never);
    expect(statements.find((s) => s.Sid === "FindDueCredentials")).toMatchObject({ Action: "dynamodb:Query", Resource: { "Fn::Join": ["", [{ "Fn::GetAtt": [registry, "Arn"] }, "/index/due"]] } });
    expect(statements.find((s) => s.Sid === "MarkEnqueued")).toMatchObject({ Action: "dynamodb:UpdateItem", Resource: { "Fn::GetAtt": [registry, "Arn"] } });
    expect(statements.flatMap((s) => [s.Action].flat() as string[]).filter((action) => action.startsWith("secretsmanager:") || action.startsWith("sts:"))).toEqual([]);
  });

  it("routes the failures that need a person, and overdue credentials, of this fleet only, to the topic with a message naming the credential", () => {
    const rules = resources(template, "AWS::Events::Rule").filter(([, r]) => r.EventPattern !== undefined);
    const pattern = (detailType: string) => rules.find(([, r]) => (r.EventPattern as { "detail-type": string[] })["detail-type"][0] === detailType)![1];
    const topic = { Ref: onlyResource(template, "AWS::SNS::Topic")[0] };
    const failed = pattern("Token Refresh Failed");
    expect(failed.EventPattern).toEqual({
      source: ["token-refresher"],
      "detail-type": ["Token Refresh Failed"],
      detail: { fleet: ["plants"], outcome: ["CredentialRejected", "AppFrozen", "PairDiscarded"] },
    });
    expect(pattern("Token Refresh Overdue").EventPattern).toEqual({ source: ["token-refresher"], "detail-type": ["Token Refresh Overdue"], detail: { fleet: ["plants"] } });
    for (const [, rule] of rules) {
      const [target] = rule.Targets as { Arn: unknown; InputTransformer: { InputPathsMap: Json; InputTemplate: unknown } }[];
      expect(target!.Arn).toEqual(topic);
      expect(target!.InputTransformer.InputPathsMap).toMatchObject({ "detail-credential": "$.detail.credential" });
      expect(JSON.stringify(target!.InputTransformer.InputTemplate)).toContain("Runbook: token-refresher docs/fleet.md (section \\\\\\\"Fleet: ");
    }
    // EventBridge may publish to the stack's topic.
    expect(props(onlyResource(template, "AWS::SNS::TopicPolicy")).PolicyDocument).toMatchObject({
      Statement: expect.arrayContaining([expect.objectContaining({ Action: "sns:Publish", Principal: { Service: "events.amazonaws.com" } })]) as unknown,
    });
  });

  it("creates five alarms named <stack>-<fleet>-Fleet…, to the topic on ALARM and OK, each with its runbook section", () => {
    const alarms = Object.fromEntries(resources(template, "AWS::CloudWatch::Alarm").map(([, a]) => [a.AlarmName as string, a]));
    expect(Object.keys(alarms).sort()).toEqual(
      ["FleetDeadLetterQueueNotEmpty", "FleetOverdue", "FleetRefreshFailed", "FleetSchedulerHeartbeat", "FleetWorkerErrors"].map((id) => `Fleet-plants-${id}`),
    );
    const topic = { Ref: onlyResource(template, "AWS::SNS::Topic")[0] };
    for (const alarm of Object.values(alarms)) {
      expect(alarm).toMatchObject({ AlarmActions: [topic], OKActions: [topic] });
      expect(alarm.AlarmDescription).toMatch(/^token-refresher fleet plants: .* Runbook: token-refresher docs\/fleet\.md \(section "Fleet: [^"]+"\)$/);
    }
    expect(alarms["Fleet-plants-FleetOverdue"]).toMatchObject({
      MetricName: "OverdueCredentials",
      Namespace: "TokenRefresher",
      Dimensions: [{ Name: "Fleet", Value: "plants" }],
      Statistic: "Maximum",
      Period: 300,
      Threshold: 1,
      ComparisonOperator: "GreaterThanOrEqualToThreshold",
      TreatMissingData: "notBreaching",
    });
    // Dead-man's switch of the dead-man's switch: no scheduler report at all is breaching.
    expect(alarms["Fleet-plants-FleetSchedulerHeartbeat"]).toMatchObject({
      MetricName: "DueCredentials",
      Statistic: "SampleCount",
      Threshold: 1,
      ComparisonOperator: "LessThanThreshold",
      TreatMissingData: "breaching",
    });
    expect(alarms["Fleet-plants-FleetWorkerErrors"]).toMatchObject({ Namespace: "AWS/Lambda", MetricName: "Errors", Statistic: "Sum" });
    expect(alarms["Fleet-plants-FleetDeadLetterQueueNotEmpty"]).toMatchObject({ Namespace: "AWS/SQS", MetricName: "ApproximateNumberOfMessagesVisible", Statistic: "Maximum" });
  });

  it("alarms on failed runs per credential with one Metrics Insights query, GROUP BY Credential", () => {
    const [, alarm] = resources(template, "AWS::CloudWatch::Alarm").find(([, a]) => a.AlarmName === "Fleet-plants-FleetRefreshFailed")!;
    expect(alarm).toMatchObject({
      Metrics: [
        {
          Id: "expr_1",
          Expression: `SELECT SUM(RefreshFailed) FROM SCHEMA("TokenRefresher", Credential, Fleet) WHERE Fleet = 'plants' GROUP BY Credential ORDER BY SUM() DESC`,
          Period: 3600,
          ReturnData: true,
        },
      ],
      Threshold: 2,
      EvaluationPeriods: 1,
      ComparisonOperator: "GreaterThanOrEqualToThreshold",
      TreatMissingData: "notBreaching",
    });
    for (const key of ["MetricName", "Namespace", "Dimensions", "Period", "Statistic"]) expect(alarm).not.toHaveProperty(key);
  });

  it("outputs the worker's name for --function, the registry table and the dead-letter queue", () => {
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(outputs.plantsFleetWorkerFunctionName?.Value).toEqual({ Ref: stack.getLogicalId(fleet.workerFunction.node.defaultChild as never) });
    expect(outputs.plantsFleetRegistryTableName?.Value).toEqual({ Ref: stack.getLogicalId(fleet.registryTable.node.defaultChild as never) });
    expect(outputs.plantsFleetDeadLetterQueueUrl?.Value).toEqual({ Ref: stack.getLogicalId(fleet.deadLetterQueue.node.defaultChild as never) });
  });

  it("passes cdk-nag's AwsSolutions checks, with every suppression reasoned", () => {
    expect(nagFindings(stack)).toEqual([]);
    const suppressions = Object.values(template.toJSON().Resources as Record<string, { Metadata?: { cdk_nag?: { rules_to_suppress: { id: string; reason: string }[] } } }>).flatMap(
      (resource) => resource.Metadata?.cdk_nag?.rules_to_suppress ?? [],
    );
    expect(suppressions.map((s) => s.id).sort()).toEqual(["AwsSolutions-DDB3", "AwsSolutions-L1", "AwsSolutions-L1"]);
    for (const suppression of suppressions) expect(suppression.reason.length).toBeGreaterThan(60);
  });
});

describe("TokenRefresherFleet props", () => {
  it("set the settings the functions carry, the concurrency, the timeouts and the alarms", () => {
    const { template } = fleetStack({
      secretNamePrefix: "teams/",
      writeBudgetPerSecond: 40,
      overdueThreshold: Duration.minutes(20),
      workerConcurrency: 50,
      timeout: Duration.seconds(60),
      httpTimeout: Duration.seconds(10),
      memorySize: 512,
      metricsNamespace: "Plants",
      operatorPrincipalArns: [`arn:aws:iam::${ACCOUNT}:role/ops-*`],
      alarms: { refreshFailed: { threshold: 3, period: Duration.minutes(30), evaluationPeriods: 2, datapointsToAlarm: 2 }, deadLetterQueue: { enabled: false } },
    });
    const [, worker] = resources(template, "AWS::Lambda::Function").find(([id]) => id.startsWith("FleetWorkerFunction"))!;
    expect((worker.Environment as { Variables: Json }).Variables).toMatchObject({
      SECRET_NAME_PREFIX: "teams/",
      WRITE_BUDGET_PER_SECOND: "40",
      OVERDUE_THRESHOLD_SECONDS: "1200",
      RUN_BUDGET_MS: "45000",
      LEASE_SECONDS: "120",
      HTTP_TIMEOUT_MS: "10000",
      METRICS_NAMESPACE: "Plants",
      OPERATOR_PRINCIPAL_ARNS: `arn:aws:iam::${ACCOUNT}:role/ops-*`,
    });
    expect(worker).toMatchObject({ Timeout: 60, MemorySize: 512 });
    expect(props(onlyResource(template, "AWS::Lambda::EventSourceMapping")).ScalingConfig).toEqual({ MaximumConcurrency: 50 });
    const queue = resources(template, "AWS::SQS::Queue").find(([id]) => id.startsWith("FleetWorkQueue"))![1];
    expect(queue.VisibilityTimeout).toBe(360);
    const alarms = resources(template, "AWS::CloudWatch::Alarm").map(([, a]) => a);
    expect(alarms).toHaveLength(4);
    expect(alarms.find((a) => a.AlarmName === "Fleet-plants-FleetRefreshFailed")).toMatchObject({
      Metrics: [{ Expression: expect.stringContaining(`FROM SCHEMA("Plants", Credential, Fleet)`) as unknown, Period: 1800 }],
      Threshold: 3,
      EvaluationPeriods: 2,
      DatapointsToAlarm: 2,
    });
    const runStatements = roleStatements(template, roleId(template, "FleetRunRole"));
    expect(JSON.stringify(runStatements.find((s) => s.Sid === "ReadOwnSecrets")!.Resource)).toContain(":secret:teams/plants/${aws:PrincipalTag/TokenRefresherCredential}/client-??????");
  });

  it("share a topic passed as alarmTopic, and create none", () => {
    const stack = newStack(newApp(), "Topic");
    const pager = sns.Topic.fromTopicArn(stack, "Pager", `arn:aws:sns:${REGION}:${ACCOUNT}:pager`);
    const fleet = new TokenRefresherFleet(stack, "Fleet", { fleetName: "plants", alarmTopic: pager, eventBus: events.EventBus.fromEventBusName(stack, "Bus", "plants-bus") });
    const template = Template.fromStack(stack);
    expect(fleet.alarmTopic).toBe(pager);
    expect(resources(template, "AWS::SNS::Topic")).toEqual([]);
    for (const [, rule] of resources(template, "AWS::Events::Rule").filter(([, r]) => r.EventPattern !== undefined)) {
      expect(rule).toMatchObject({ EventBusName: "plants-bus", Targets: [{ Arn: pager.topicArn }] });
    }
  });

  it.each<[string, Partial<TokenRefresherFleetProps>, string]>([
    ["a fleet name that is no name", { fleetName: "plants/a" }, 'fleetName must be 1-64 letters, digits, "_", "." or "-", got "plants/a"'],
    ["a write budget above the quota", { writeBudgetPerSecond: 60 }, "writeBudgetPerSecond must be between 2 and 50, got 60"],
    ["a concurrency Lambda refuses", { workerConcurrency: 1 }, "workerConcurrency must be between 2 and 1000, got 1"],
    ["an overdue threshold under a minute", { overdueThreshold: Duration.seconds(30) }, "overdueThreshold must be between 1 minute and 1 day, got 30 seconds"],
    ["a prefix that is not a path", { secretNamePrefix: "teams" }, 'secretNamePrefix must be a Secrets Manager name prefix ending in /, got "teams"'],
    ["an HTTP timeout longer than the run budget", { timeout: Duration.seconds(20), httpTimeout: Duration.seconds(10) }, "httpTimeout must not exceed the run budget (5 seconds), got 10 seconds"],
    ["an operator pattern that spans paths", { operatorPrincipalArns: [`arn:aws:iam::${ACCOUNT}:role/*`, `arn:aws:iam::${ACCOUNT}:role/team/*`] }, "operatorPrincipalArns has"],
    ["a runbook with < or >", { runbookUrl: "https://wiki/<fleet>" }, "runbookUrl must not contain < or >"],
    ["a Metrics Insights window over 3 hours", { alarms: { refreshFailed: { evaluationPeriods: 4 } } }, "alarms.refreshFailed.evaluationPeriods must be a whole number >= 1 whose periods (3600 s each) span at most 3 hours"],
    ["a period of seconds", { alarms: { overdue: { period: Duration.seconds(90) } } }, "alarms.overdue.period must be a whole number of minutes, got 1 minute 30 seconds"],
    ["more datapoints than periods", { alarms: { workerErrors: { evaluationPeriods: 2, datapointsToAlarm: 3 } } }, "alarms.workerErrors.datapointsToAlarm must be a whole number from 1 to evaluationPeriods (2), got 3"],
  ])("refuse %s, naming the prop, before creating anything", (_, bad, message) => {
    const stack = new Stack(newApp(), "Bad", { env: ENV });
    expect(() => new TokenRefresherFleet(stack, "Fleet", { fleetName: "plants", ...bad })).toThrow(`TokenRefresherFleet Bad/Fleet: ${message}`);
    expect(stack.node.findAll().filter((c) => c.node.path.startsWith("Bad/Fleet/"))).toEqual([]);
  });

  it("report every bad prop at once", () => {
    const stack = new Stack(newApp(), "Bad", { env: ENV });
    expect(() => new TokenRefresherFleet(stack, "Fleet", { fleetName: "plants", writeBudgetPerSecond: 1, workerConcurrency: 2000 })).toThrow(
      "TokenRefresherFleet Bad/Fleet: writeBudgetPerSecond must be between 2 and 50, got 1; workerConcurrency must be between 2 and 1000, got 2000",
    );
  });

  it("refuse a second fleet of the same name in a stack", () => {
    const stack = new Stack(newApp(), "Twice", { env: ENV });
    new TokenRefresherFleet(stack, "One", { fleetName: "plants" });
    expect(() => new TokenRefresherFleet(stack, "Two", { fleetName: "plants" })).toThrow('TokenRefresherFleet Twice/Two: fleetName "plants" is already used by another TokenRefresherFleet in stack Twice');
  });
});

describe("the fleet's template", () => {
  it("has the same size for 1 and for 1,000 credentials, far under CloudFormation's 500 resources", () => {
    const [one, thousand] = [fleetStackSize(1), fleetStackSize(1_000)];
    expect(thousand.resources).toBe(one.resources);
    expect(thousand.templateBytes).toBe(one.templateBytes);
    expect(one.resources).toBeLessThan(40);
    // The credentials are data: the registry holds them.
    expect(thousand.registryBytes).toBeGreaterThan(500 * one.registryBytes);
  });

  it("is cfn-lint clean, with the defaults and with every prop set (an imported topic, a bus, a refresher beside it)", async () => {
    const app = newApp();
    const plain = newStack(app, "FleetDefaults");
    new TokenRefresherFleet(plain, "Fleet", { fleetName: "plants" });
    const everything = newStack(app, "FleetEverything");
    new TokenRefresher(everything, "Refresher", IOT_PROPS);
    new TokenRefresherFleet(everything, "Fleet", {
      fleetName: "erp.prod",
      secretNamePrefix: "teams/",
      workerConcurrency: 1000,
      timeout: Duration.minutes(2),
      alarmEmail: "oncall@example.com",
      operatorPrincipalArns: [`arn:aws:iam::${ACCOUNT}:role/ops`],
      eventBus: events.EventBus.fromEventBusName(everything, "Bus", "plants"),
      alarms: { refreshFailed: { period: Duration.minutes(15), evaluationPeriods: 12, datapointsToAlarm: 2 } },
    });
    new TokenRefresherFleet(everything, "Other", { fleetName: "other", alarmTopic: sns.Topic.fromTopicArn(everything, "Pager", `arn:aws:sns:${REGION}:${ACCOUNT}:pager`) });
    const dir = mkdtempSync(join(tmpdir(), "token-refresher-fleet-lint-"));
    try {
      const files = [plain, everything].map((stack) => {
        const file = join(dir, `${stack.stackName}.template.json`);
        writeFileSync(file, JSON.stringify(Template.fromStack(stack).toJSON(), null, 1));
        return file;
      });
      const lint = await cfnLint(files);
      expect(lint.code, `cfn-lint findings:\n${lint.output}`).toBe(0);
      expect(nagFindings(everything)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
