// The construct opened up for real accounts: alarm actions and tuning, runbook links, the dashboard,
// VPC placement, and cdk-nag suppressions carried as metadata (docs/construct.md, "Using the construct in your own CDK app").
import { readdirSync, readFileSync } from "node:fs";
import { Duration } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import type * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as sns from "aws-cdk-lib/aws-sns";
import type { Construct } from "constructs";
import { describe, expect, it } from "vitest";
import { METRIC } from "../../lambda/telemetry/names.js";
import { DEFAULT_RUNBOOK_URL, TokenRefresher, type TokenRefresherProps } from "../../infra/token-refresher/index.js";
import { ACCOUNT, IOT_PROPS, REGION, ROOT, allStrings, nagFindings, newStack, onlyResource, refresherStack, resources } from "./support.js";

/** Any alarm action: here, one that only names an ARN (as an SSM OpsItem or Lambda action would). */
function actionOf(arn: string): cloudwatch.IAlarmAction {
  return { bind: (_scope: Construct, _alarm: cloudwatch.IAlarm) => ({ alarmActionArn: arn }) };
}

function alarmsByName(template: Template): Map<string, Record<string, unknown>> {
  return new Map(resources(template, "AWS::CloudWatch::Alarm").map(([, p]) => [(p.AlarmName as string).replace(/^Test-plant-a-/, ""), p]));
}

describe("alarm actions", () => {
  it("takes any IAlarmAction instead of the topic, for ALARM and OK", () => {
    const pager = `arn:aws:ssm:${REGION}:${ACCOUNT}:opsitem:1`;
    const { template, refresher } = refresherStack({ alarmActions: [actionOf(pager)] });
    template.resourceCountIs("AWS::SNS::Topic", 0);
    expect(refresher.alarmTopic).toBeUndefined();
    for (const [, alarm] of resources(template, "AWS::CloudWatch::Alarm")) {
      expect(alarm.AlarmActions).toEqual([pager]);
      expect(alarm.OKActions).toEqual([pager]);
    }
  });

  it("sends OK to okActions when given", () => {
    const { template } = refresherStack({ alarmActions: [actionOf("arn:aws:sns:eu-west-1:123456789012:page")], okActions: [] });
    for (const [, alarm] of resources(template, "AWS::CloudWatch::Alarm")) expect(alarm.OKActions).toBeUndefined();
  });

  it.each<[string, Partial<TokenRefresherProps>, RegExp]>([
    ["alarmTopic with alarmActions", { alarmActions: [], alarmTopic: sns.Topic.fromTopicArn(newStack(), "T", `arn:aws:sns:${REGION}:${ACCOUNT}:t`) }, /alarmTopic must not be set together with alarmActions/],
    ["alarmEmail with alarmActions", { alarmActions: [], alarmEmail: "oncall@example.com" }, /alarmEmail needs the alarm topic, and alarmActions replaces it/],
  ])("rejects %s, naming the prop", (_case, props, message) => {
    expect(() => new TokenRefresher(newStack(), "Refresher", { ...IOT_PROPS, ...props })).toThrow(message);
  });
});

describe("alarm tuning", () => {
  it("switches single alarms off, and the opt-in FunctionErrors on", () => {
    const { template, refresher } = refresherStack({ alarms: { appFrozen: { enabled: false }, deadLetterQueue: { enabled: false }, functionErrors: { enabled: true } } });
    expect([...alarmsByName(template).keys()].sort()).toEqual(["AccessTokenTtl", "CredentialRejected", "FunctionErrors", "PairDiscarded", "RefreshFailed", "RefreshTokenTtl"].sort());
    expect(refresher.appFrozenAlarm).toBeUndefined();
    expect(refresher.deadLetterQueueAlarm).toBeUndefined();
    expect(refresher.functionErrorsAlarm).toBeDefined();
    expect(refresher.alarms).toHaveLength(6);
  });

  it("takes each alarm's threshold and evaluation", () => {
    const { template } = refresherStack({
      alarms: {
        refreshFailed: { threshold: 3, evaluationPeriods: 6, datapointsToAlarm: 4 },
        credentialRejected: { threshold: 2 },
        accessTokenTtl: { threshold: Duration.minutes(12), evaluationPeriods: 3 },
        refreshTokenTtl: { threshold: Duration.days(7), evaluationPeriods: 1 },
      },
    });
    const alarms = alarmsByName(template);
    expect(alarms.get("RefreshFailed")).toMatchObject({ Threshold: 3, EvaluationPeriods: 6, DatapointsToAlarm: 4, MetricName: METRIC.failed });
    expect(alarms.get("CredentialRejected")).toMatchObject({ Threshold: 2, EvaluationPeriods: 1 });
    // The default "2 of 2" stays within the new evaluation: 2 of 3.
    expect(alarms.get("AccessTokenTtl")).toMatchObject({ Threshold: 720, EvaluationPeriods: 3, DatapointsToAlarm: 2 });
    expect(alarms.get("AccessTokenTtl")!.AlarmDescription).toContain("less than 12 minutes left");
    expect(alarms.get("RefreshTokenTtl")).toMatchObject({ Threshold: 604_800, EvaluationPeriods: 1, MetricName: METRIC.refreshTokenTtl });
    expect(alarms.get("RefreshTokenTtl")!.DatapointsToAlarm).toBeUndefined();
    expect(alarms.get("RefreshTokenTtl")!.AlarmDescription).toContain("expires in less than 7 days");
  });

  it.each<[string, TokenRefresherProps["alarms"], RegExp]>([
    ["a zero threshold", { appFrozen: { threshold: 0 } }, /alarms\.appFrozen\.threshold must be a positive number, got 0/],
    ["a zero refresh-token threshold", { refreshTokenTtl: { threshold: Duration.seconds(0) } }, /alarms\.refreshTokenTtl\.threshold must be between 1 second and 365 days, got 0 seconds/],
    ["more datapoints than periods", { refreshFailed: { evaluationPeriods: 2, datapointsToAlarm: 3 } }, /alarms\.refreshFailed\.datapointsToAlarm must be a whole number from 1 to evaluationPeriods \(2\), got 3/],
    ["more than a day of periods", { refreshFailed: { evaluationPeriods: 289 } }, /alarms\.refreshFailed\.evaluationPeriods must be a whole number >= 1 whose periods \(300 s each\) span at most one day, got 289/],
  ])("rejects %s, naming the alarm", (_case, alarms, message) => {
    expect(() => new TokenRefresher(newStack(), "Refresher", { ...IOT_PROPS, alarms })).toThrow(message);
  });
});

describe("runbook links", () => {
  it("ends every alarm description with the runbook and its section", () => {
    const runbookUrl = "https://wiki.example.com/ops/token-refresher";
    const { template } = refresherStack({ runbookUrl, alarms: { functionErrors: { enabled: true } } });
    const sections = Object.fromEntries([...alarmsByName(template)].map(([name, alarm]) => [name, /Runbook: (\S+) \(section "([^"]+)"\)$/.exec(alarm.AlarmDescription as string)?.slice(1)]));
    expect(sections).toEqual({
      CredentialRejected: [runbookUrl, "CredentialRejected"],
      AppFrozen: [runbookUrl, "AppFrozen"],
      PairDiscarded: [runbookUrl, "PairDiscarded"],
      RefreshFailed: [runbookUrl, "RefreshFailed on consecutive runs"],
      AccessTokenTtl: [runbookUrl, "AccessTokenTtl low or missing"],
      RefreshTokenTtl: [runbookUrl, "RefreshTokenTtl low"],
      FunctionErrors: [runbookUrl, "Function errors"],
      DeadLetterQueueNotEmpty: [runbookUrl, "Dead-letter queue not empty"],
    });
  });

  it("points at sections that exist in docs/runbook.md, the default runbookUrl", () => {
    expect(DEFAULT_RUNBOOK_URL).toBe("token-refresher docs/runbook.md");
    const runbook = readFileSync(new URL("docs/runbook.md", ROOT), "utf8");
    const headings = [...runbook.matchAll(/^## (.+)$/gm)].map((m) => m[1]);
    const { template } = refresherStack({ alarms: { functionErrors: { enabled: true } } });
    for (const [name, alarm] of alarmsByName(template)) {
      const section = /\(section "([^"]+)"\)$/.exec(alarm.AlarmDescription as string)![1];
      expect(headings, `${name} links to a missing runbook section`).toContain(section);
    }
  });

  it("rejects a runbook URL that would overflow CloudWatch's description limit", () => {
    expect(() => new TokenRefresher(newStack(), "Refresher", { ...IOT_PROPS, runbookUrl: `https://wiki.example.com/${"x".repeat(500)}` })).toThrow(/runbookUrl must be 1-400 characters/);
  });
});

describe("dashboard", () => {
  it("shows, per credential, both token TTLs with the alarm thresholds, the run outcomes, the run duration and the alarms", () => {
    const { template, refresher } = refresherStack({ dashboard: true });
    const [, dashboard] = onlyResource(template, "AWS::CloudWatch::Dashboard");
    expect(dashboard.DashboardName).toBe(`Test-plant-a-${REGION}`);
    const body = allStrings(dashboard.DashboardBody).join("");
    for (const metric of [METRIC.accessTokenTtl, METRIC.refreshTokenTtl, METRIC.succeeded, METRIC.skipped, METRIC.failed, METRIC.credentialRejected, METRIC.appFrozen, METRIC.pairDiscarded, METRIC.duration]) {
      expect(body).toContain(`"TokenRefresher","${metric}","Credential","plant-a"`);
    }
    expect(body).toContain('"value":600,"label":"AccessTokenTtl alarm"');
    expect(body).toContain('"value":259200,"label":"RefreshTokenTtl alarm"');
    expect(body).toMatch(/"stat":"p99"/);
    expect(body).toContain('"type":"alarm"');
    expect(refresher.dashboard).toBeDefined();
    expect(refresher.dashboardWidgets().flat()).toHaveLength(5);
  });

  it("leaves out the alarm widget when every alarm is switched off", () => {
    const off = { enabled: false };
    const alarms = { credentialRejected: off, appFrozen: off, pairDiscarded: off, refreshFailed: off, accessTokenTtl: off, refreshTokenTtl: off, functionErrors: off, deadLetterQueue: off };
    const { template, refresher } = refresherStack({ dashboard: true, alarms });
    template.resourceCountIs("AWS::CloudWatch::Alarm", 0);
    expect(refresher.dashboardWidgets().flat()).toHaveLength(4);
    // No threshold lines without the TTL alarms.
    const body = allStrings(onlyResource(template, "AWS::CloudWatch::Dashboard")[1].DashboardBody).join("");
    expect(body).not.toContain("AccessTokenTtl alarm");
    expect(body).not.toContain("RefreshTokenTtl alarm");
  });
});

describe("VPC placement", () => {
  it("runs the function in the given subnets and security groups, with the EC2 calls Lambda needs for its interfaces", () => {
    const stack = newStack();
    const vpc = new ec2.Vpc(stack, "Vpc", { maxAzs: 2, natGateways: 1, flowLogs: { all: {} } });
    const securityGroup = new ec2.SecurityGroup(stack, "Egress", { vpc, description: "token-refresher egress" });
    new TokenRefresher(stack, "Refresher", { ...IOT_PROPS, vpc, vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }, securityGroups: [securityGroup] });
    const template = Template.fromStack(stack);
    const fn = resources(template, "AWS::Lambda::Function").find(([id]) => id.startsWith("Refresher"))![1];
    const privateSubnets = resources(template, "AWS::EC2::Subnet").filter(([id]) => id.includes("Private")).map(([id]) => ({ Ref: id }));
    expect(fn.VpcConfig).toEqual({ SubnetIds: privateSubnets, SecurityGroupIds: [{ "Fn::GetAtt": [resources(template, "AWS::EC2::SecurityGroup").find(([id]) => id.startsWith("Egress"))![0], "GroupId"] }] });
    const statements = resources(template, "AWS::IAM::Policy").flatMap(([, p]) => (p.PolicyDocument as { Statement: { Sid?: string; Resource: unknown }[] }).Statement);
    expect(statements.find((s) => s.Sid === "ManageVpcNetworkInterfaces")).toMatchObject({ Resource: "*" });
    // No AWS-managed policy (AWSLambdaVPCAccessExecutionRole would bring logs:* on every group).
    expect(resources(template, "AWS::IAM::Role").find(([id]) => id.startsWith("Refresher"))![1].ManagedPolicyArns).toBeUndefined();
    expect(nagFindings(stack)).toEqual([]);
  });

  it("rejects subnets or security groups without a VPC", () => {
    const stack = newStack();
    expect(() => new TokenRefresher(stack, "Refresher", { ...IOT_PROPS, vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS } })).toThrow(/vpcSubnets needs vpc/);
  });
});

describe("cdk-nag suppressions", () => {
  it("are metadata on the resources; the construct's code never imports cdk-nag", () => {
    const dir = new URL("infra/token-refresher/", ROOT);
    for (const file of readdirSync(dir).filter((f) => f.endsWith(".ts"))) {
      expect(readFileSync(new URL(file, dir), "utf8"), file).not.toMatch(/from\s+["']cdk-nag["']|import\(\s*["']cdk-nag["']\s*\)/);
    }
    const { template } = refresherStack();
    const suppressed = Object.values((template.toJSON() as { Resources: Record<string, { Type: string; Metadata?: { cdk_nag?: { rules_to_suppress: { id: string; reason: string }[] } } }> }).Resources)
      .flatMap((r) => (r.Metadata?.cdk_nag?.rules_to_suppress ?? []).map((rule) => [r.Type, rule.id, rule.reason.length > 40] as const))
      .sort();
    expect(suppressed).toEqual(
      [
        ["AWS::DynamoDB::Table", "AwsSolutions-DDB3", true],
        ["AWS::Lambda::Function", "AwsSolutions-L1", true],
        ["AWS::SQS::Queue", "AwsSolutions-SQS3", true],
        ["AWS::SecretsManager::Secret", "AwsSolutions-SMG4", true],
        ["AWS::SecretsManager::Secret", "AwsSolutions-SMG4", true],
      ].sort(),
    );
  });
});
