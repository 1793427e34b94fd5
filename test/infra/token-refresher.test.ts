// Fine-grained assertions on the TokenRefresher construct (bundling skipped: only the template matters here).
import { CfnWaitConditionHandle, Duration, RemovalPolicy } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as events from "aws-cdk-lib/aws-events";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kms from "aws-cdk-lib/aws-kms";
import * as logs from "aws-cdk-lib/aws-logs";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import * as sns from "aws-cdk-lib/aws-sns";
import { beforeAll, describe, expect, it } from "vitest";
import { METRIC } from "../../lambda/telemetry/names.js";
import { TokenRefresher, type TokenRefresherProps } from "../../infra/token-refresher/index.js";
import { ACCOUNT, IOT_PROPS, REGION, allStrings, arnOf, nagFindings, newApp, newStack, onlyResource, rawResource, refOf, refresherStack, resources } from "./support.js";

type Statement = { Sid?: string; Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown };

function policyStatements(template: Template, roleLogicalIdPrefix = ""): Statement[] {
  return resources(template, "AWS::IAM::Policy")
    .filter(([id]) => id.startsWith(roleLogicalIdPrefix))
    .flatMap(([, props]) => (props.PolicyDocument as { Statement: Statement[] }).Statement);
}

function logicalId(template: Template, type: string, contains: string): string {
  const ids = resources(template, type).map(([id]) => id).filter((id) => id.includes(contains));
  if (ids.length !== 1) throw new Error(`expected one ${type} with "${contains}" in its id, found ${ids.join(", ") || "none"}`);
  return ids[0]!;
}

function alarmFor(template: Template, metricName: string): Record<string, unknown> {
  const found = resources(template, "AWS::CloudWatch::Alarm").filter(([, p]) => p.MetricName === metricName);
  if (found.length !== 1) throw new Error(`expected one alarm on ${metricName}, found ${found.length}`);
  return found[0]![1];
}

/** A KMS grant's conditions: through Secrets Manager, for one secret only (its ARN in the encryption context). */
function keyUseFor(secretArn: unknown) {
  return { StringEquals: { "kms:ViaService": `secretsmanager.${REGION}.amazonaws.com`, "kms:EncryptionContext:SecretARN": secretArn } };
}

describe("TokenRefresher with defaults", () => {
  let template: Template;
  let refresher: TokenRefresher;
  let ids: { client: string; token: string; dlq: string; fn: string; logGroup: string; topic: string; rule: string; table: string };

  beforeAll(() => {
    ({ template, refresher } = refresherStack());
    ids = {
      client: logicalId(template, "AWS::SecretsManager::Secret", "ClientSecret"),
      token: logicalId(template, "AWS::SecretsManager::Secret", "TokenSecret"),
      dlq: onlyResource(template, "AWS::SQS::Queue")[0],
      fn: onlyResource(template, "AWS::Lambda::Function")[0],
      logGroup: onlyResource(template, "AWS::Logs::LogGroup")[0],
      topic: onlyResource(template, "AWS::SNS::Topic")[0],
      rule: onlyResource(template, "AWS::Events::Rule")[0],
      table: onlyResource(template, "AWS::DynamoDB::Table")[0],
    };
  });

  it("creates exactly the resources of one credential", () => {
    const counts = Object.fromEntries(
      [
        "AWS::Lambda::Function",
        "AWS::Lambda::EventInvokeConfig",
        "AWS::Lambda::Permission",
        "AWS::Logs::LogGroup",
        "AWS::IAM::Role",
        "AWS::IAM::Policy",
        "AWS::SecretsManager::Secret",
        "AWS::SecretsManager::ResourcePolicy",
        "AWS::DynamoDB::Table",
        "AWS::SQS::Queue",
        "AWS::SQS::QueuePolicy",
        "AWS::Events::Rule",
        "AWS::SNS::Topic",
        "AWS::SNS::TopicPolicy",
        "AWS::CloudWatch::Alarm",
      ].map((type) => [type, resources(template, type).length]),
    );
    expect(counts).toEqual({
      "AWS::Lambda::Function": 1,
      "AWS::Lambda::EventInvokeConfig": 1,
      "AWS::Lambda::Permission": 1,
      "AWS::Logs::LogGroup": 1,
      "AWS::IAM::Role": 1,
      "AWS::IAM::Policy": 1,
      "AWS::SecretsManager::Secret": 2,
      "AWS::SecretsManager::ResourcePolicy": 2,
      "AWS::DynamoDB::Table": 1,
      "AWS::SQS::Queue": 1,
      "AWS::SQS::QueuePolicy": 1,
      "AWS::Events::Rule": 1,
      "AWS::SNS::Topic": 1,
      "AWS::SNS::TopicPolicy": 1,
      "AWS::CloudWatch::Alarm": 7,
    });
    expect(template.findResources("AWS::SNS::Subscription")).toEqual({});
    expect(template.findResources("AWS::CloudWatch::Dashboard")).toEqual({});
    expect(template.findResources("AWS::EC2::SecurityGroup")).toEqual({});
  });

  it("runs Node.js 22 on arm64 with the measured memory, a timeout above the run budget, and the handler's environment", () => {
    const [, fn] = onlyResource(template, "AWS::Lambda::Function");
    expect(fn).toMatchObject({ Runtime: "nodejs22.x", Architectures: ["arm64"], Handler: "index.handler", MemorySize: 256, Timeout: 40 });
    expect((fn.Environment as { Variables: unknown }).Variables).toEqual({
      CREDENTIAL_NAME: "plant-a",
      TOKEN_DIALECT: "iot",
      AWS_REQUEST_TIMEOUT_MS: "3000",
      CLIENT_SECRET_ID: { Ref: ids.client },
      TOKEN_SECRET_ID: { Ref: ids.token },
      STATE_TABLE_NAME: { Ref: ids.table },
      ENDPOINT_URL: "https://iot.example.com:8743",
      REFRESH_WINDOW_SECONDS: "900",
      HTTP_TIMEOUT_MS: "5000",
      RUN_BUDGET_MS: "25000",
      LEASE_SECONDS: "100",
      METRICS_NAMESPACE: "TokenRefresher",
      // Only what the alarms read (docs/cost.md): no dashboard, and the refresh token's time left
      // only below twice its alarm's threshold of 3 days.
      DETAILED_METRICS: "false",
      REFRESH_TOKEN_TTL_REPORT_BELOW_SECONDS: "518400",
      EVENT_BUS_NAME: `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/default`,
      SCHEDULE_RULE_NAME: "Test-plant-a-schedule",
      ALARM_NAMES: [
        "CredentialRejected",
        "AppFrozen",
        "PairDiscarded",
        "RefreshFailed",
        "AccessTokenTtl",
        "RefreshTokenTtl",
        "DeadLetterQueueNotEmpty",
      ]
        .map((alarm) => `Test-plant-a-${alarm}`)
        .join(","),
      NODE_OPTIONS: "--enable-source-maps",
    });
    expect(Number((fn.Environment as { Variables: Record<string, string> }).Variables.RUN_BUDGET_MS) / 1000).toBeLessThan(fn.Timeout as number);
  });

  it("is created after its policy, so the first run already has its permissions", () => {
    const [fnId] = onlyResource(template, "AWS::Lambda::Function");
    expect(rawResource(template, fnId).DependsOn).toContain(onlyResource(template, "AWS::IAM::Policy")[0]);
  });

  it("keeps the dependencies a user adds to the function (no DependsOn override)", () => {
    const stack = newStack(newApp(), "Deps");
    const refresher = new TokenRefresher(stack, "Refresher", IOT_PROPS);
    refresher.function.node.addDependency(new CfnWaitConditionHandle(stack, "SomethingFirst"));
    const template = Template.fromStack(stack);
    const [fnId] = onlyResource(template, "AWS::Lambda::Function");
    const dependsOn = rawResource(template, fnId).DependsOn as string[];
    expect(dependsOn).toEqual(expect.arrayContaining([onlyResource(template, "AWS::CloudFormation::WaitConditionHandle")[0], onlyResource(template, "AWS::IAM::Policy")[0]]));
    // cfn-lint's W3005 (the role is also referenced by GetAtt) is acknowledged on the function itself.
    expect((template.toJSON() as { Resources: Record<string, { Metadata?: unknown }> }).Resources[fnId]!.Metadata).toMatchObject({
      "cfn-lint": { config: { ignore_checks: ["W3005"] } },
    });
  });

  it("logs to its own log group with three months' retention", () => {
    const [, fn] = onlyResource(template, "AWS::Lambda::Function");
    expect(fn.LoggingConfig).toEqual({ LogGroup: { Ref: ids.logGroup } });
    template.hasResourceProperties("AWS::Logs::LogGroup", { RetentionInDays: 90 });
  });

  it("reserves no concurrency: the lease keeps runs from overlapping", () => {
    expect(onlyResource(template, "AWS::Lambda::Function")[1].ReservedConcurrentExecutions).toBeUndefined();
  });

  it("does not retry failed async invocations and sends them to the encrypted, SSL-only dead-letter queue", () => {
    expect(onlyResource(template, "AWS::Lambda::EventInvokeConfig")[1]).toEqual({
      FunctionName: { Ref: ids.fn },
      Qualifier: "$LATEST",
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 300,
      DestinationConfig: { OnFailure: { Destination: arnOf(template, "AWS::SQS::Queue", ids.dlq) } },
    });
  });

  it("triggers the function on a 5-minute schedule with retries, an event age limit and a dead-letter queue", () => {
    expect(onlyResource(template, "AWS::Events::Rule")[1]).toMatchObject({
      Name: "Test-plant-a-schedule",
      ScheduleExpression: "rate(5 minutes)",
      State: "ENABLED",
      Targets: [
        {
          Arn: arnOf(template, "AWS::Lambda::Function"),
          Id: "Target0",
          RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 300 },
          DeadLetterConfig: { Arn: arnOf(template, "AWS::SQS::Queue", ids.dlq) },
        },
      ],
    });
    expect((onlyResource(template, "AWS::Events::Rule")[1].Targets as unknown[]).length).toBe(1);
  });

  it("lets only its schedule rule invoke the function", () => {
    expect(onlyResource(template, "AWS::Lambda::Permission")[1]).toEqual({
      Action: "lambda:InvokeFunction",
      FunctionName: arnOf(template, "AWS::Lambda::Function"),
      Principal: "events.amazonaws.com",
      SourceArn: arnOf(template, "AWS::Events::Rule"),
    });
  });

  it("encrypts the dead-letter queue, keeps messages 14 days and denies non-SSL access; of other principals only the rule may send to it", () => {
    expect(onlyResource(template, "AWS::SQS::Queue")[1]).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 1_209_600 });
    const [, policy] = onlyResource(template, "AWS::SQS::QueuePolicy");
    expect(policy.Queues).toEqual([{ Ref: ids.dlq }]);
    const statements = (policy.PolicyDocument as { Statement: Statement[] }).Statement;
    expect(statements).toContainEqual({
      Action: "sqs:*",
      Condition: { Bool: { "aws:SecureTransport": "false" } },
      Effect: "Deny",
      Principal: { AWS: "*" },
      Resource: arnOf(template, "AWS::SQS::Queue", ids.dlq),
    });
    // The function's failed invocations arrive with its own role (its identity policy, below).
    expect(statements.filter((s) => s.Effect === "Allow")).toEqual([
      expect.objectContaining({
        Action: "sqs:SendMessage",
        Principal: { Service: "events.amazonaws.com" },
        Condition: { ArnEquals: { "aws:SourceArn": arnOf(template, "AWS::Events::Rule") } },
      }),
    ]);
  });

  it("starts the token secret as {} and the client secret as an empty IoT placeholder, both retained", () => {
    template.hasResource("AWS::SecretsManager::Secret", {
      Properties: Match.objectLike({ SecretString: "{}" }),
      DeletionPolicy: "Retain",
      UpdateReplacePolicy: "Retain",
    });
    template.hasResource("AWS::SecretsManager::Secret", {
      Properties: Match.objectLike({ SecretString: JSON.stringify({ appId: "", secret: "" }) }),
      DeletionPolicy: "Retain",
    });
    for (const [, secret] of resources(template, "AWS::SecretsManager::Secret")) expect(secret.KmsKeyId).toBeUndefined();
  });

  it("gives its role exactly the calls the handler makes, and nothing else", () => {
    const key = (s: Statement) => s.Sid ?? [s.Action].flat()[0]!;
    const bySid = (a: Statement, b: Statement) => key(a).localeCompare(key(b));
    // The role's complete policy: one policy document, attached to the function's role only.
    const [, policy] = onlyResource(template, "AWS::IAM::Policy");
    expect(policy.Roles).toEqual([refOf(template, "AWS::IAM::Role")]);
    expect((policy.PolicyDocument as { Statement: Statement[] }).Statement.sort(bySid)).toEqual(
      [
        { Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: arnOf(template, "AWS::Logs::LogGroup") },
        // Lambda delivers failed asynchronous invocations with the function's role.
        { Effect: "Allow", Action: ["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"], Resource: arnOf(template, "AWS::SQS::Queue", ids.dlq) },
        { Sid: "ReadClientSecret", Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: { Ref: ids.client } },
        {
          Sid: "ReadWriteTokenSecret",
          Effect: "Allow",
          Action: ["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage"],
          Resource: { Ref: ids.token },
        },
        {
          Sid: "OwnStateItem",
          Effect: "Allow",
          Action: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
          Resource: arnOf(template, "AWS::DynamoDB::Table"),
          Condition: { "ForAllValues:StringEquals": { "dynamodb:LeadingKeys": ["plant-a"] } },
        },
        {
          Sid: "PublishRefreshEvents",
          Effect: "Allow",
          Action: "events:PutEvents",
          Resource: `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/default`,
          Condition: { "ForAllValues:StringEquals": { "events:source": ["token-refresher"] }, Null: { "events:source": "false" } },
        },
      ].sort(bySid),
    );
    const actions = policyStatements(template).flatMap((s) => [s.Action].flat());
    expect(actions).not.toContain("secretsmanager:DescribeSecret");
    expect(actions.filter((a) => a.startsWith("kms:"))).toEqual([]); // AWS-managed keys need no grant
  });

  it("uses no wildcard resource or action and no managed policy in its role", () => {
    const [, role] = onlyResource(template, "AWS::IAM::Role");
    expect(role.ManagedPolicyArns).toBeUndefined();
    expect(role.Policies).toBeUndefined();
    expect(role.AssumeRolePolicyDocument).toMatchObject({ Statement: [{ Action: "sts:AssumeRole", Principal: { Service: "lambda.amazonaws.com" } }] });
    for (const statement of policyStatements(template)) {
      expect(allStrings(statement.Resource).join(" ")).not.toContain("*");
      expect([statement.Action].flat().join(" ")).not.toContain("*");
    }
  });

  it("alarms on CredentialRejected, AppFrozen and PairDiscarded >= 1 in one run (first occurrence)", () => {
    for (const metric of [METRIC.credentialRejected, METRIC.appFrozen, METRIC.pairDiscarded]) {
      expect(alarmFor(template, metric)).toMatchObject({
        Namespace: "TokenRefresher",
        Dimensions: [{ Name: "Credential", Value: "plant-a" }],
        Statistic: "Sum",
        Period: 300,
        ComparisonOperator: "GreaterThanOrEqualToThreshold",
        Threshold: 1,
        EvaluationPeriods: 1,
        TreatMissingData: "notBreaching",
      });
    }
  });

  it("alarms on RefreshFailed in two consecutive schedule periods", () => {
    expect(alarmFor(template, METRIC.failed)).toMatchObject({
      Namespace: "TokenRefresher",
      Dimensions: [{ Name: "Credential", Value: "plant-a" }],
      Statistic: "Sum",
      Period: 300,
      ComparisonOperator: "GreaterThanOrEqualToThreshold",
      Threshold: 1,
      EvaluationPeriods: 2,
      DatapointsToAlarm: 2,
      TreatMissingData: "notBreaching",
    });
  });

  it("alarms on AccessTokenTtl below 10 minutes or missing (dead-man's switch)", () => {
    expect(alarmFor(template, METRIC.accessTokenTtl)).toMatchObject({
      Namespace: "TokenRefresher",
      Dimensions: [{ Name: "Credential", Value: "plant-a" }],
      Statistic: "Minimum",
      Period: 300,
      ComparisonOperator: "LessThanThreshold",
      Threshold: 600,
      EvaluationPeriods: 2,
      DatapointsToAlarm: 2,
      TreatMissingData: "breaching",
    });
  });

  it("alarms on a RefreshTokenTtl below 3 days, silent for credentials that do not report one", () => {
    expect(alarmFor(template, METRIC.refreshTokenTtl)).toMatchObject({
      AlarmName: "Test-plant-a-RefreshTokenTtl",
      Namespace: "TokenRefresher",
      Dimensions: [{ Name: "Credential", Value: "plant-a" }],
      Statistic: "Minimum",
      Period: 300,
      ComparisonOperator: "LessThanThreshold",
      Threshold: 259_200,
      EvaluationPeriods: 2,
      DatapointsToAlarm: 2,
      TreatMissingData: "notBreaching",
    });
    expect(alarmFor(template, METRIC.refreshTokenTtl).AlarmDescription).toMatch(
      /less than 3 days\. IoT logs in again .+ Runbook: token-refresher docs\/runbook\.md \(section "RefreshTokenTtl low"\)$/,
    );
    expect(refresher.refreshTokenTtlAlarm).toBeDefined();
  });

  it("alarms on the dead-letter queue holding a message, which both failure paths fill; not on function errors unless asked", () => {
    expect(alarmFor(template, "ApproximateNumberOfMessagesVisible")).toMatchObject({
      AlarmName: "Test-plant-a-DeadLetterQueueNotEmpty",
      Namespace: "AWS/SQS",
      Dimensions: [{ Name: "QueueName", Value: { "Fn::GetAtt": [ids.dlq, "QueueName"] } }],
      Statistic: "Maximum",
      Period: 300,
      Threshold: 1,
      ComparisonOperator: "GreaterThanOrEqualToThreshold",
      EvaluationPeriods: 1,
      TreatMissingData: "notBreaching",
    });
    expect(resources(template, "AWS::CloudWatch::Alarm").filter(([, p]) => p.Namespace === "AWS/Lambda")).toEqual([]);
    expect(refresher.functionErrorsAlarm).toBeUndefined();

    const { template: withErrors, refresher: opted } = refresherStack({ alarms: { functionErrors: { enabled: true } } });
    expect(alarmFor(withErrors, "Errors")).toMatchObject({
      AlarmName: "Test-plant-a-FunctionErrors",
      Namespace: "AWS/Lambda",
      Dimensions: [{ Name: "FunctionName", Value: { Ref: onlyResource(withErrors, "AWS::Lambda::Function")[0] } }],
      Statistic: "Sum",
      Period: 300,
      ComparisonOperator: "GreaterThanOrEqualToThreshold",
      Threshold: 1,
      EvaluationPeriods: 1,
    });
    expect(opted.alarmNames).toContain("Test-plant-a-FunctionErrors");
  });

  it("sends ALARM and OK of every alarm to the one topic, under a readable unique name", () => {
    const alarms = resources(template, "AWS::CloudWatch::Alarm");
    for (const [, alarm] of alarms) {
      expect(alarm.AlarmActions).toEqual([{ Ref: ids.topic }]);
      expect(alarm.OKActions).toEqual([{ Ref: ids.topic }]);
      expect(alarm.AlarmName).toMatch(/^Test-plant-a-[A-Za-z]+$/);
      expect(alarm.AlarmDescription).toMatch(/^token-refresher plant-a: .+ Runbook: token-refresher docs\/runbook\.md \(section "[A-Za-z -]+"\)$/);
    }
    expect(new Set(alarms.map(([, a]) => a.AlarmName)).size).toBe(7);
    expect(refresher.alarms).toHaveLength(7);
    template.hasResourceProperties("AWS::SNS::TopicPolicy", {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } })]) },
    });
  });

  it("exposes its parts and metrics with the Credential dimension exactly as the handler emits", () => {
    expect(refresher.function).toBeDefined();
    expect([refresher.clientSecret, refresher.tokenSecret, refresher.alarmTopic, refresher.scheduleRule, refresher.deadLetterQueue]).not.toContain(undefined);
    const cases: [cloudwatch.Metric, string, string][] = [
      [refresher.metricRefreshSucceeded(), METRIC.succeeded, "Sum"],
      [refresher.metricRefreshSkipped(), METRIC.skipped, "Sum"],
      [refresher.metricRefreshFailed(), METRIC.failed, "Sum"],
      [refresher.metricCredentialRejected(), METRIC.credentialRejected, "Sum"],
      [refresher.metricAppFrozen(), METRIC.appFrozen, "Sum"],
      [refresher.metricPairDiscarded(), METRIC.pairDiscarded, "Sum"],
      [refresher.metricAccessTokenTtl(), METRIC.accessTokenTtl, "Minimum"],
      [refresher.metricRefreshTokenTtl(), METRIC.refreshTokenTtl, "Minimum"],
      [refresher.metricRefreshDuration(), METRIC.duration, "p99"],
    ];
    for (const [metric, name, statistic] of cases) {
      expect(metric.metricName).toBe(name);
      expect(metric.namespace).toBe("TokenRefresher");
      expect(metric.dimensions).toEqual({ Credential: "plant-a" });
      expect(metric.statistic).toBe(statistic);
      expect(metric.period.toSeconds()).toBe(300);
    }
    // Callers can change the statistic and period, never the dimension the handler emits.
    const custom = refresher.metricRefreshFailed({ dimensionsMap: { service: "x" }, statistic: "Average", period: Duration.hours(1) });
    expect(custom.dimensions).toEqual({ Credential: "plant-a" });
    expect([custom.statistic, custom.period.toSeconds()]).toEqual(["Average", 3600]);
  });

  it("has no unsuppressed cdk-nag AwsSolutions error or warning", () => {
    const { stack } = refresherStack({}, "Nag");
    expect(nagFindings(stack)).toEqual([]);
  });
});

describe("TokenRefresher options", () => {
  it("reserves the concurrency it is given", () => {
    const { template } = refresherStack({ reservedConcurrency: 2 });
    template.hasResourceProperties("AWS::Lambda::Function", { ReservedConcurrentExecutions: 2 });
  });

  it("subscribes alarmEmail to the topic", () => {
    const { template } = refresherStack({ alarmEmail: "oncall@example.com" });
    expect(onlyResource(template, "AWS::SNS::Subscription")[1]).toEqual({
      Protocol: "email",
      Endpoint: "oncall@example.com",
      TopicArn: refOf(template, "AWS::SNS::Topic"),
    });
  });

  it("uses an imported topic instead of creating one", () => {
    const stack = newStack();
    const topicArn = `arn:aws:sns:${REGION}:${ACCOUNT}:oncall`;
    new TokenRefresher(stack, "Refresher", { ...IOT_PROPS, alarmTopic: sns.Topic.fromTopicArn(stack, "OnCall", topicArn), alarmEmail: "oncall@example.com" });
    const template = Template.fromStack(stack);
    template.resourceCountIs("AWS::SNS::Topic", 0);
    for (const [, alarm] of resources(template, "AWS::CloudWatch::Alarm")) {
      expect(alarm.AlarmActions).toEqual([topicArn]);
      expect(alarm.OKActions).toEqual([topicArn]);
    }
    template.hasResourceProperties("AWS::SNS::Subscription", { TopicArn: topicArn, Protocol: "email" });
  });

  it("uses imported secrets (complete ARN, and by name with the -?????? suffix) and creates none", () => {
    const stack = newStack();
    const clientArn = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:plant-a/client-AbCdEf`;
    new TokenRefresher(stack, "Refresher", {
      ...IOT_PROPS,
      clientSecret: secretsmanager.Secret.fromSecretCompleteArn(stack, "Client", clientArn),
      tokenSecret: secretsmanager.Secret.fromSecretNameV2(stack, "Token", "plant-a/token"),
    });
    const template = Template.fromStack(stack);
    template.resourceCountIs("AWS::SecretsManager::Secret", 0);
    const partialTokenArn = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:plant-a/token`;
    template.hasResourceProperties("AWS::Lambda::Function", {
      Environment: { Variables: Match.objectLike({ CLIENT_SECRET_ID: clientArn, TOKEN_SECRET_ID: partialTokenArn }) },
    });
    const statements = policyStatements(template);
    expect(statements).toContainEqual({ Sid: "ReadClientSecret", Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: clientArn });
    expect(statements).toContainEqual(expect.objectContaining({ Sid: "ReadWriteTokenSecret", Resource: `${partialTokenArn}-??????` }));
    // The only wildcard is Secrets Manager's 6-character suffix, acknowledged with a reason.
    const wildcards = statements.flatMap((s) => allStrings(s.Resource)).filter((r) => r.includes("*") || r.includes("?"));
    expect(wildcards).toEqual([`${partialTokenArn}-??????`]);
    expect(nagFindings(stack)).toEqual([]);
  });

  it("encrypts created secrets with a customer-managed key and grants its use through Secrets Manager only", () => {
    const stack = newStack();
    const key = new kms.Key(stack, "Key", { enableKeyRotation: true });
    const refresher = new TokenRefresher(stack, "Refresher", { ...IOT_PROPS, encryptionKey: key });
    const consumer = new iam.Role(stack, "Consumer", { assumedBy: new iam.ServicePrincipal("ecs-tasks.amazonaws.com") });
    refresher.grantRead(consumer);
    const template = Template.fromStack(stack);
    const keyArn = arnOf(template, "AWS::KMS::Key");
    for (const [, secret] of resources(template, "AWS::SecretsManager::Secret")) expect(secret.KmsKeyId).toEqual(keyArn);

    const functionStatements = policyStatements(template, "Refresher");
    const tokenSecret = { Ref: logicalId(template, "AWS::SecretsManager::Secret", "TokenSecret") };
    const clientSecret = { Ref: logicalId(template, "AWS::SecretsManager::Secret", "ClientSecret") };
    expect(functionStatements).toHaveLength(8);
    // One key for both secrets, yet each use is bound to its own secret by the encryption context.
    expect(functionStatements.filter((s) => [s.Action].flat().some((a) => a.startsWith("kms:")))).toEqual([
      { Sid: "ClientSecretKey", Effect: "Allow", Action: "kms:Decrypt", Resource: keyArn, Condition: keyUseFor(clientSecret) },
      { Sid: "TokenSecretKey", Effect: "Allow", Action: ["kms:Decrypt", "kms:GenerateDataKey"], Resource: keyArn, Condition: keyUseFor(tokenSecret) },
    ]);
    expect(policyStatements(template, "Consumer")).toEqual([
      { Effect: "Allow", Action: ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"], Resource: tokenSecret },
      { Effect: "Allow", Action: "kms:Decrypt", Resource: keyArn, Condition: keyUseFor(tokenSecret) },
    ]);
    // The key policy is left alone: a consumer in another stack must not become a dependency of this one.
    const keyPolicy = onlyResource(template, "AWS::KMS::Key")[1].KeyPolicy as { Statement: unknown[] };
    expect(JSON.stringify(keyPolicy)).not.toContain(logicalId(template, "AWS::IAM::Role", "Consumer"));
    expect(nagFindings(stack)).toEqual([]);
  });

  it("grants kms:Decrypt on the key of an imported, CMK-encrypted client secret", () => {
    const stack = newStack();
    const keyArn = `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
    const clientSecret = secretsmanager.Secret.fromSecretAttributes(stack, "Client", {
      secretCompleteArn: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:client-AbCdEf`,
      encryptionKey: kms.Key.fromKeyArn(stack, "ClientKey", keyArn),
    });
    new TokenRefresher(stack, "Refresher", { ...IOT_PROPS, clientSecret });
    const template = Template.fromStack(stack);
    expect(policyStatements(template)).toContainEqual({
      Sid: "ClientSecretKey",
      Effect: "Allow",
      Action: "kms:Decrypt",
      Resource: keyArn,
      Condition: keyUseFor(`arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:client-AbCdEf`),
    });
    expect(policyStatements(template).some((s) => s.Sid === "TokenSecretKey")).toBe(false);
  });

  it("grantRead on an imported, CMK-encrypted token secret adds kms:Decrypt on its key through Secrets Manager", () => {
    const stack = newStack();
    const keyArn = `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
    const tokenArn = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:token-AbCdEf`;
    const tokenSecret = secretsmanager.Secret.fromSecretAttributes(stack, "Token", { secretCompleteArn: tokenArn, encryptionKey: kms.Key.fromKeyArn(stack, "TokenKey", keyArn) });
    const refresher = new TokenRefresher(stack, "Refresher", { ...IOT_PROPS, tokenSecret });
    refresher.grantRead(new iam.Role(stack, "Consumer", { assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com") }));
    const template = Template.fromStack(stack);
    expect(policyStatements(template, "Consumer")).toEqual([
      { Effect: "Allow", Action: ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"], Resource: tokenArn },
      { Effect: "Allow", Action: "kms:Decrypt", Resource: keyArn, Condition: keyUseFor(tokenArn) },
    ]);
    expect(policyStatements(template, "Refresher")).toContainEqual({
      Sid: "TokenSecretKey",
      Effect: "Allow",
      Action: ["kms:Decrypt", "kms:GenerateDataKey"],
      Resource: keyArn,
      Condition: keyUseFor(tokenArn),
    });
  });

  it("grantRead works for a consumer in another stack without making this stack depend on it", () => {
    const app = newApp();
    const producer = newStack(app, "Producer");
    const refresher = new TokenRefresher(producer, "Refresher", { ...IOT_PROPS, encryptionKey: new kms.Key(producer, "Key", { enableKeyRotation: true }) });
    const consumerStack = newStack(app, "Consumer");
    refresher.grantRead(new iam.Role(consumerStack, "Consumer", { assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com") }));
    const statements = policyStatements(Template.fromStack(consumerStack), "Consumer");
    expect(consumerStack.dependencies).toContain(producer);
    expect(producer.dependencies).toEqual([]);
    expect(statements.map((s) => s.Action)).toEqual([["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"], "kms:Decrypt"]);
  });

  it("grantRead gives read access to the token secret only, never the client secret", () => {
    const stack = newStack();
    const refresher = new TokenRefresher(stack, "Refresher", IOT_PROPS);
    const consumer = new iam.Role(stack, "Consumer", { assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com") });
    refresher.grantRead(consumer);
    const template = Template.fromStack(stack);
    expect(policyStatements(template, "Consumer")).toEqual([
      {
        Effect: "Allow",
        Action: ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"],
        Resource: { Ref: logicalId(template, "AWS::SecretsManager::Secret", "TokenSecret") },
      },
    ]);
    const clientId = logicalId(template, "AWS::SecretsManager::Secret", "ClientSecret");
    expect(JSON.stringify(policyStatements(template, "Consumer"))).not.toContain(clientId);
  });

  it("publishes events to a given bus only", () => {
    const stack = newStack();
    const bus = new events.EventBus(stack, "Bus");
    new TokenRefresher(stack, "Refresher", { ...IOT_PROPS, eventBus: bus });
    const template = Template.fromStack(stack);
    const busArn = arnOf(template, "AWS::Events::EventBus");
    expect(policyStatements(template)).toContainEqual(expect.objectContaining({ Sid: "PublishRefreshEvents", Action: "events:PutEvents", Resource: busArn }));
    template.hasResourceProperties("AWS::Lambda::Function", { Environment: { Variables: Match.objectLike({ EVENT_BUS_NAME: busArn }) } });
  });

  it("configures the oauth2 dialect: token path, default lifetime and its placeholder", () => {
    const { template } = refresherStack({
      dialect: "oauth2",
      endpointUrl: "https://auth.example.com",
      oauth2TokenPath: "/oauth2/token",
      oauth2DefaultExpiresIn: Duration.minutes(30),
    });
    template.hasResourceProperties("AWS::Lambda::Function", {
      Environment: { Variables: Match.objectLike({ TOKEN_DIALECT: "oauth2", OAUTH2_TOKEN_PATH: "/oauth2/token", DEFAULT_EXPIRES_IN_SECONDS: "1800" }) },
    });
    template.hasResourceProperties("AWS::SecretsManager::Secret", { SecretString: JSON.stringify({ clientId: "", clientSecret: "" }) });
  });

  it("derives the run budget and lease from the timeout", () => {
    const { template } = refresherStack({ timeout: Duration.seconds(60), httpTimeout: Duration.seconds(10) });
    template.hasResourceProperties("AWS::Lambda::Function", {
      Timeout: 60,
      Environment: { Variables: Match.objectLike({ RUN_BUDGET_MS: "45000", LEASE_SECONDS: "120", HTTP_TIMEOUT_MS: "10000" }) },
    });
  });

  it("follows the schedule interval in the rule, the event ages and the alarm periods", () => {
    const { template } = refresherStack({ schedule: events.Schedule.rate(Duration.minutes(10)), refreshWindow: Duration.minutes(30) });
    template.hasResourceProperties("AWS::Events::Rule", {
      ScheduleExpression: "rate(10 minutes)",
      Targets: [Match.objectLike({ RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 600 } })],
    });
    template.hasResourceProperties("AWS::Lambda::EventInvokeConfig", { MaximumEventAgeInSeconds: 600 });
    template.hasResourceProperties("AWS::Lambda::Function", { Environment: { Variables: Match.objectLike({ REFRESH_WINDOW_SECONDS: "1800" }) } });
    for (const metric of [METRIC.failed, METRIC.credentialRejected, METRIC.appFrozen, METRIC.accessTokenTtl]) expect(alarmFor(template, metric).Period).toBe(600);
  });

  it("accepts a cron schedule with its interval", () => {
    const { template } = refresherStack({ schedule: events.Schedule.cron({ minute: "0/5" }), scheduleInterval: Duration.minutes(5) });
    template.hasResourceProperties("AWS::Events::Rule", { ScheduleExpression: "cron(0/5 * * * ? *)" });
    expect(alarmFor(template, METRIC.failed).Period).toBe(300);
  });

  it("applies retention, memory, namespace, threshold and secret removal policy", () => {
    const { template } = refresherStack({
      logRetention: logs.RetentionDays.ONE_YEAR,
      memorySize: 512,
      metricsNamespace: "Acme/Tokens",
      alarms: { accessTokenTtl: { threshold: Duration.minutes(5) } },
      secretRemovalPolicy: RemovalPolicy.DESTROY,
    });
    template.hasResourceProperties("AWS::Logs::LogGroup", { RetentionInDays: 365 });
    template.hasResourceProperties("AWS::Lambda::Function", { MemorySize: 512, Environment: { Variables: Match.objectLike({ METRICS_NAMESPACE: "Acme/Tokens" }) } });
    expect(alarmFor(template, METRIC.accessTokenTtl)).toMatchObject({ Namespace: "Acme/Tokens", Threshold: 300 });
    for (const id of Object.keys(template.findResources("AWS::SecretsManager::Secret"))) {
      expect(rawResource(template, id).DeletionPolicy).toBe("Delete");
    }
  });
});

describe("two credentials in one stack", () => {
  let template: Template;
  let a: TokenRefresher;
  let b: TokenRefresher;
  let stackForNag: ReturnType<typeof newStack>;

  beforeAll(() => {
    const stack = newStack(newApp(), "Two");
    const topic = new sns.Topic(stack, "OnCall", { enforceSSL: true });
    a = new TokenRefresher(stack, "A", { ...IOT_PROPS, credentialName: "plant-a", alarmTopic: topic });
    b = new TokenRefresher(stack, "B", { credentialName: "erp", dialect: "oauth2", endpointUrl: "https://auth.example.com", alarmTopic: topic });
    template = Template.fromStack(stack);
    stackForNag = stack;
  });

  it("gives each credential its own function, secrets, queue, schedule and alarms", () => {
    template.resourceCountIs("AWS::Lambda::Function", 2);
    template.resourceCountIs("AWS::SecretsManager::Secret", 4);
    template.resourceCountIs("AWS::SQS::Queue", 2);
    template.resourceCountIs("AWS::Events::Rule", 2);
    template.resourceCountIs("AWS::Logs::LogGroup", 2);
    template.resourceCountIs("AWS::IAM::Role", 2);
    template.resourceCountIs("AWS::CloudWatch::Alarm", 14);
    template.resourceCountIs("AWS::SNS::Topic", 1);
    const names = resources(template, "AWS::CloudWatch::Alarm").map(([, p]) => p.AlarmName as string);
    expect(new Set(names).size).toBe(14);
    expect(names.filter((n) => n.startsWith("Two-plant-a-"))).toHaveLength(7);
    expect(names.filter((n) => n.startsWith("Two-erp-"))).toHaveLength(7);
    expect(resources(template, "AWS::Events::Rule").map(([, p]) => p.Name).sort()).toEqual(["Two-erp-schedule", "Two-plant-a-schedule"]);
    expect(a.tokenSecret).not.toBe(b.tokenSecret);
  });

  it("wires each function to its own secrets, rule and metrics", () => {
    for (const [prefix, name] of [["A", "plant-a"], ["B", "erp"]] as const) {
      const [fnId, fn] = resources(template, "AWS::Lambda::Function").find(([id]) => id.startsWith(prefix))!;
      const vars = (fn.Environment as { Variables: Record<string, { Ref?: string } | string> }).Variables;
      expect(vars.CREDENTIAL_NAME).toBe(name);
      expect((vars.CLIENT_SECRET_ID as { Ref: string }).Ref).toMatch(new RegExp(`^${prefix}ClientSecret`));
      expect((vars.TOKEN_SECRET_ID as { Ref: string }).Ref).toMatch(new RegExp(`^${prefix}TokenSecret`));
      const [, rule] = resources(template, "AWS::Events::Rule").find(([id]) => id.startsWith(prefix))!;
      expect((rule.Targets as { Arn: unknown }[])[0]!.Arn).toEqual({ "Fn::GetAtt": [fnId, "Arn"] });
      const statements = policyStatements(template, prefix);
      expect(statements.find((s) => s.Sid === "ReadWriteTokenSecret")!.Resource).toEqual({ Ref: (vars.TOKEN_SECRET_ID as { Ref: string }).Ref });
      const dims = resources(template, "AWS::CloudWatch::Alarm")
        .filter(([id, p]) => id.startsWith(prefix) && p.Namespace === "TokenRefresher")
        .map(([, p]) => p.Dimensions);
      expect(dims).toHaveLength(6);
      for (const d of dims) expect(d).toEqual([{ Name: "Credential", Value: name }]);
    }
  });

  it("passes cdk-nag", () => {
    expect(nagFindings(stackForNag)).toEqual([]);
  });
});

describe("prop validation", () => {
  const bad: [string, Partial<TokenRefresherProps>, RegExp][] = [
    ["empty credentialName", { credentialName: "" }, /credentialName is required$/],
    ["credentialName with spaces", { credentialName: "plant a" }, /credentialName must be 1-64/],
    ["credentialName too long", { credentialName: "x".repeat(65) }, /credentialName/],
    ["unknown dialect", { dialect: "soap" as TokenRefresherProps["dialect"] }, /dialect must be one of iot, oauth2, client_credentials, got "soap"/],
    ["missing endpointUrl", { endpointUrl: undefined }, /endpointUrl is required/],
    ["http endpointUrl", { endpointUrl: "http://iot.example.com" }, /endpointUrl must be an https URL, got "http:\/\/iot.example.com"/],
    ["endpointUrl not a URL", { endpointUrl: "iot.example.com" }, /endpointUrl must be an https URL/],
    ["endpointUrl with credentials", { endpointUrl: "https://app:secret@iot.example.com" }, /endpointUrl must not contain credentials/],
    ["oauth2TokenPath on iot", { oauth2TokenPath: "/token" }, /oauth2TokenPath is only used by the oauth2 and client_credentials dialects \(dialect is iot\)/],
    ["oauth2DefaultExpiresIn on iot", { oauth2DefaultExpiresIn: Duration.hours(1) }, /oauth2DefaultExpiresIn is only used by the oauth2 and client_credentials dialects \(dialect is iot\)/],
    ["refreshWindow = interval", { refreshWindow: Duration.minutes(5) }, /refreshWindow must be longer than the schedule interval \(5 minutes\), or the token can expire between two runs, got 5 minutes/],
    ["cron without interval", { schedule: events.Schedule.cron({ minute: "0" }) }, /scheduleInterval is required for the schedule cron/],
    ["interval not whole minutes", { schedule: events.Schedule.cron({ minute: "0" }), scheduleInterval: Duration.seconds(90) }, /scheduleInterval must be a whole number of minutes/],
    ["schedule of a day", { schedule: events.Schedule.rate(Duration.days(1)), refreshWindow: Duration.days(1) }, /schedule must be between 1 minute and 12 hours, got 1 day/],
    ["timeout too short", { timeout: Duration.seconds(10) }, /timeout must be between 20 seconds and 615 seconds, got 10 seconds/],
    ["timeout >= interval", { timeout: Duration.minutes(5) }, /timeout must be shorter than the schedule interval \(5 minutes\), got 5 minutes/],
    [
      "timeout beyond the handler's run budget",
      { timeout: Duration.seconds(700), schedule: events.Schedule.rate(Duration.minutes(15)), refreshWindow: Duration.minutes(30) },
      // The longest timeout is the handler's longest run budget (600 s) plus the 15 s to write and report.
      /timeout must be between 20 seconds and 615 seconds, got 11 minutes 40 seconds/,
    ],
    ["httpTimeout above the run budget", { httpTimeout: Duration.seconds(30) }, /httpTimeout must not exceed the run budget \(25 seconds\), got 30 seconds/],
    ["ttl threshold >= window", { alarms: { accessTokenTtl: { threshold: Duration.minutes(15) } } }, /alarms\.accessTokenTtl\.threshold must be shorter than the refresh window \(15 minutes\), or the alarm fires on healthy runs, got 15 minutes/],
    ["negative reservedConcurrency", { reservedConcurrency: -1 }, /reservedConcurrency must be between 0 and 1000, got -1/],
    ["fractional reservedConcurrency", { reservedConcurrency: 1.5 }, /reservedConcurrency/],
    ["memorySize too small", { memorySize: 64 }, /memorySize must be between 128 MB and 10240 MB, got 64/],
    ["AWS/ namespace", { metricsNamespace: "AWS/Lambda" }, /metricsNamespace must be/],
    ["bad alarmEmail", { alarmEmail: "on-call" }, /alarmEmail must be an e-mail address, got "on-call"/],
  ];

  it.each(bad)("rejects %s, naming the prop", (_case, props, message) => {
    const stack = newStack();
    expect(() => new TokenRefresher(stack, "Refresher", { ...IOT_PROPS, ...props })).toThrow(message);
  });

  it("rejects the client secret as token secret", () => {
    const stack = newStack();
    const secret = secretsmanager.Secret.fromSecretNameV2(stack, "S", "shared");
    expect(() => new TokenRefresher(stack, "Refresher", { ...IOT_PROPS, clientSecret: secret, tokenSecret: secret })).toThrow(/tokenSecret must not be the client secret/);
  });

  it("rejects an encryptionKey that no created secret would use", () => {
    const stack = newStack();
    expect(
      () =>
        new TokenRefresher(stack, "Refresher", {
          ...IOT_PROPS,
          clientSecret: secretsmanager.Secret.fromSecretNameV2(stack, "C", "c"),
          tokenSecret: secretsmanager.Secret.fromSecretNameV2(stack, "T", "t"),
          encryptionKey: new kms.Key(stack, "Key"),
        }),
    ).toThrow(/encryptionKey only applies to secrets the construct creates/);
  });

  it("rejects a credential name used twice in one stack", () => {
    const stack = newStack();
    new TokenRefresher(stack, "One", IOT_PROPS);
    expect(() => new TokenRefresher(stack, "Two", IOT_PROPS)).toThrow(/credentialName "plant-a" is already used by another TokenRefresher in stack Test/);
  });

  it("names the construct path in its errors", () => {
    const stack = newStack();
    expect(() => new TokenRefresher(stack, "Refresher", { ...IOT_PROPS, memorySize: 1 })).toThrow(/^TokenRefresher Test\/Refresher: memorySize/);
  });
});
