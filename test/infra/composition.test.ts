// Two TokenRefresher constructs in a stack of the user's own app, with the defaults, against what the
// docs say a stack holds (docs/construct.md, "What one credential creates", "Per stack", "Outputs")
// and what the runbook reads from a deployed stack (`describe-stacks ... FunctionName`).
import { Template } from "aws-cdk-lib/assertions";
import * as sns from "aws-cdk-lib/aws-sns";
import { beforeAll, describe, expect, it } from "vitest";
import { TokenRefresher } from "../../infra/token-refresher/index.js";
import { IOT_PROPS, nagFindings, newApp, newStack, resources } from "./support.js";

/** docs/construct.md, "What one credential creates": each credential's resources, by type. */
const PER_CREDENTIAL = {
  "AWS::SecretsManager::Secret": 2,
  "AWS::SecretsManager::ResourcePolicy": 2,
  "AWS::Lambda::Function": 1,
  "AWS::Logs::LogGroup": 1,
  "AWS::IAM::Role": 1,
  "AWS::IAM::Policy": 1,
  "AWS::Lambda::EventInvokeConfig": 1,
  "AWS::Events::Rule": 1,
  "AWS::Lambda::Permission": 1,
  "AWS::SQS::Queue": 1,
  "AWS::SQS::QueuePolicy": 1,
  "AWS::CloudWatch::Alarm": 7,
};

/** docs/construct.md, "Per stack": one state table, one SSL-only topic, one subscription for the address. */
const PER_STACK = {
  "AWS::DynamoDB::Table": 1,
  "AWS::SNS::Topic": 1,
  "AWS::SNS::TopicPolicy": 1,
  "AWS::SNS::Subscription": 1,
};

const CREDENTIALS = ["plant-a", "erp.prod"];

/** The output key the runbook queries: the credential name without the characters CloudFormation does not allow, then the kind. */
const outputKey = (credentialName: string, kind: string) => `${credentialName.replace(/[^A-Za-z0-9]/g, "")}${kind}`;

describe("two TokenRefreshers in a user's stack, with the defaults", () => {
  let template: Template;
  let refreshers: TokenRefresher[];
  let stack: ReturnType<typeof newStack>;

  beforeAll(() => {
    stack = newStack(newApp(), "UserStack");
    refreshers = [
      new TokenRefresher(stack, "PlantA", { ...IOT_PROPS, credentialName: CREDENTIALS[0]!, alarmEmail: "oncall@example.com" }),
      new TokenRefresher(stack, "Erp", { credentialName: CREDENTIALS[1]!, dialect: "oauth2", endpointUrl: "https://auth.example.com", alarmEmail: "oncall@example.com" }),
    ];
    template = Template.fromStack(stack);
  });

  it("create each credential's resources twice, and the stack's once", () => {
    const counts = (types: Record<string, number>) => Object.fromEntries(Object.keys(types).map((type) => [type, resources(template, type).length]));
    expect(counts(PER_CREDENTIAL)).toEqual(Object.fromEntries(Object.entries(PER_CREDENTIAL).map(([type, count]) => [type, count * 2])));
    expect(counts(PER_STACK)).toEqual(PER_STACK);
  });

  it("send every alarm, of both credentials, to the one topic, to which the shared address is subscribed once", () => {
    const [topicId] = resources(template, "AWS::SNS::Topic")[0]!;
    for (const [, alarm] of resources(template, "AWS::CloudWatch::Alarm")) {
      expect(alarm.AlarmActions).toEqual([{ Ref: topicId }]);
      expect(alarm.OKActions).toEqual([{ Ref: topicId }]);
    }
    expect(refreshers[0]!.alarmTopic).toBe(refreshers[1]!.alarmTopic);
    expect(resources(template, "AWS::SNS::Subscription").map(([, subscription]) => subscription)).toEqual([
      { Protocol: "email", Endpoint: "oncall@example.com", TopicArn: { Ref: topicId } },
    ]);
  });

  it("share the one state table", () => {
    const [tableId] = resources(template, "AWS::DynamoDB::Table")[0]!;
    expect(refreshers[0]!.stateTable).toBe(refreshers[1]!.stateTable);
    for (const [, fn] of resources(template, "AWS::Lambda::Function")) {
      expect((fn.Environment as { Variables: Record<string, unknown> }).Variables.STATE_TABLE_NAME).toEqual({ Ref: tableId });
    }
  });

  it("output each credential's client secret ARN, token secret ARN and function name, the topic's ARN and the table's name, under the runbook's keys", () => {
    const outputs = template.findOutputs("*") as Record<string, { Value: unknown }>;
    const ref = (type: string, idPrefix: string) => {
      const [id] = resources(template, type).find(([logicalId]) => logicalId.startsWith(idPrefix))!;
      return { Ref: id };
    };
    expect(Object.keys(outputs).sort()).toEqual(
      [
        "AlarmTopicArn",
        "StateTableName",
        ...CREDENTIALS.flatMap((name) => ["ClientSecretArn", "TokenSecretArn", "FunctionName"].map((kind) => outputKey(name, kind))),
      ].sort(),
    );
    expect(outputs.AlarmTopicArn!.Value).toEqual(ref("AWS::SNS::Topic", "TokenRefresherAlarmTopic"));
    expect(outputs.StateTableName!.Value).toEqual(ref("AWS::DynamoDB::Table", "TokenRefresherStateTable"));
    for (const [name, idPrefix] of [[CREDENTIALS[0]!, "PlantA"], [CREDENTIALS[1]!, "Erp"]] as const) {
      expect(outputs[outputKey(name, "FunctionName")]!.Value).toEqual(ref("AWS::Lambda::Function", idPrefix));
      expect(outputs[outputKey(name, "ClientSecretArn")]!.Value).toEqual(ref("AWS::SecretsManager::Secret", `${idPrefix}ClientSecret`));
      expect(outputs[outputKey(name, "TokenSecretArn")]!.Value).toEqual(ref("AWS::SecretsManager::Secret", `${idPrefix}TokenSecret`));
    }
  });

  it("pass cdk-nag", () => {
    expect(nagFindings(stack)).toEqual([]);
  });
});

describe("the stack's alarm topic", () => {
  it("subscribes each address once, whichever refresher names it", () => {
    const stack = newStack(newApp(), "Emails");
    new TokenRefresher(stack, "A", { ...IOT_PROPS, credentialName: "a", alarmEmail: "oncall@example.com" });
    new TokenRefresher(stack, "B", { ...IOT_PROPS, credentialName: "b", alarmEmail: "plant-team@example.com" });
    new TokenRefresher(stack, "C", { ...IOT_PROPS, credentialName: "c", alarmEmail: "oncall@example.com" });
    const template = Template.fromStack(stack);
    template.resourceCountIs("AWS::SNS::Topic", 1);
    expect(resources(template, "AWS::SNS::Subscription").map(([, subscription]) => subscription.Endpoint).sort()).toEqual(["oncall@example.com", "plant-team@example.com"]);
  });

  it("is not created for refreshers given their own topic or alarm actions", () => {
    const stack = newStack(newApp(), "Own");
    const topic = new sns.Topic(stack, "OnCall", { enforceSSL: true });
    new TokenRefresher(stack, "A", { ...IOT_PROPS, credentialName: "a", alarmTopic: topic });
    new TokenRefresher(stack, "B", { ...IOT_PROPS, credentialName: "b", alarmActions: [] });
    const template = Template.fromStack(stack);
    expect(resources(template, "AWS::SNS::Topic").map(([id]) => id)).toEqual([expect.stringMatching(/^OnCall/)]);
    expect(template.findOutputs("AlarmTopicArn")).toEqual({});
  });
});
