// What `token-refresher pause`/`resume` and the other CLI commands need from the construct (docs/cli.md,
// "Pausing a credential"; docs/construct.md, "Permissions"): the schedule rule's and the alarms' names as literals
// in the function's environment, and grantOperate's policy.
import { type CfnElement, NestedStack, Stack, Token } from "aws-cdk-lib";
import { Annotations, Match, Template } from "aws-cdk-lib/assertions";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kms from "aws-cdk-lib/aws-kms";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { describe, expect, it } from "vitest";
import { TokenRefresher } from "../../infra/token-refresher/index.js";
import { MAX_RULE_NAME } from "../../infra/token-refresher/names.js";
import { ACCOUNT, ENV, IOT_PROPS, REGION, arnOf, nagFindings, newApp, newStack, onlyResource, refresherStack, resources } from "./support.js";

type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown };

function variables(template: Template): Record<string, unknown> {
  return (onlyResource(template, "AWS::Lambda::Function")[1].Environment as { Variables: Record<string, unknown> }).Variables;
}

function idOf(template: Template, type: string, contains: string): string {
  const ids = resources(template, type).map(([id]) => id).filter((id) => id.includes(contains));
  if (ids.length !== 1) throw new Error(`expected one ${type} with "${contains}" in its id, found ${ids.join(", ") || "none"}`);
  return ids[0]!;
}

/** The statements of the policies attached to one role. */
function statementsOf(template: Template, roleId: string): Statement[] {
  return resources(template, "AWS::IAM::Policy")
    .filter(([, p]) => (p.Roles as unknown[]).some((role) => JSON.stringify(role) === JSON.stringify({ Ref: roleId })))
    .flatMap(([, p]) => (p.PolicyDocument as { Statement: Statement[] }).Statement);
}

describe("names for pause and resume", () => {
  it("gives the function the schedule rule's and the enabled alarms' names as plain strings", () => {
    const { template, refresher } = refresherStack({ alarms: { appFrozen: { enabled: false }, refreshTokenTtl: { enabled: false } } });
    const vars = variables(template);
    const [, rule] = onlyResource(template, "AWS::Events::Rule");
    expect(vars.SCHEDULE_RULE_NAME).toBe("Test-plant-a-schedule");
    expect(rule.Name).toBe(vars.SCHEDULE_RULE_NAME);
    expect(refresher.scheduleRuleName).toBe(vars.SCHEDULE_RULE_NAME);

    const alarmNames = resources(template, "AWS::CloudWatch::Alarm").map(([, p]) => p.AlarmName);
    expect(typeof vars.ALARM_NAMES).toBe("string");
    expect((vars.ALARM_NAMES as string).split(",").sort()).toEqual([...alarmNames].sort());
    expect(alarmNames).toHaveLength(5);
    expect(vars.ALARM_NAMES).not.toMatch(/AppFrozen|RefreshTokenTtl/);
    expect(refresher.alarmNames).toEqual((vars.ALARM_NAMES as string).split(","));
    for (const value of [vars.SCHEDULE_RULE_NAME, vars.ALARM_NAMES, ...refresher.alarmNames]) expect(Token.isUnresolved(value)).toBe(false);
  });

  it("leaves ALARM_NAMES out when every alarm is switched off", () => {
    const off = { enabled: false };
    const alarms = Object.fromEntries(
      ["credentialRejected", "appFrozen", "pairDiscarded", "refreshFailed", "accessTokenTtl", "refreshTokenTtl", "functionErrors", "deadLetterQueue"].map((kind) => [kind, off]),
    );
    const { template, refresher } = refresherStack({ alarms });
    template.resourceCountIs("AWS::CloudWatch::Alarm", 0);
    expect(variables(template)).not.toHaveProperty("ALARM_NAMES");
    expect(variables(template).SCHEDULE_RULE_NAME).toBe("Test-plant-a-schedule");
    expect(refresher.alarmNames).toEqual([]);
  });

  it("shortens a rule name beyond EventBridge's 64 characters with a hash, the same on every synth and unique per credential", () => {
    const stackName = `Ops-${"s".repeat(60)}`;
    const credential = (suffix: string) => `${"c".repeat(40)}-${suffix}`;
    const build = () => {
      const stack = new Stack(newApp(), "Long", { env: ENV, stackName });
      const a = new TokenRefresher(stack, "A", { ...IOT_PROPS, credentialName: credential("a") });
      const b = new TokenRefresher(stack, "B", { ...IOT_PROPS, credentialName: credential("b") });
      return { template: Template.fromStack(stack), a, b };
    };
    const first = build();
    const names = resources(first.template, "AWS::Events::Rule").map(([, p]) => p.Name as string);
    expect(names).toHaveLength(2);
    for (const name of names) {
      expect(name.length).toBeLessThanOrEqual(MAX_RULE_NAME);
      expect(name).toMatch(/^Ops-s+-[0-9a-f]{8}$/);
    }
    expect(new Set(names).size).toBe(2);
    expect([first.a.scheduleRuleName, first.b.scheduleRuleName].sort()).toEqual([...names].sort());
    const again = build();
    expect([again.a.scheduleRuleName, again.b.scheduleRuleName]).toEqual([first.a.scheduleRuleName, first.b.scheduleRuleName]);
  });

  it("rejects a stack whose name is a token (a NestedStack), naming why", () => {
    const parent = newStack(newApp(), "Parent");
    const nested = new NestedStack(parent, "Nested");
    expect(() => new TokenRefresher(nested, "Refresher", IOT_PROPS)).toThrow(/needs a stack whose name is known at synth \(not a NestedStack\)/);
  });
});

describe("grantOperate", () => {
  function operated(props: Parameters<typeof refresherStack>[0] = {}) {
    const stack = newStack(newApp(), "Ops");
    const refresher = new TokenRefresher(stack, "Refresher", { ...IOT_PROPS, ...props });
    const operator = new iam.Role(stack, "Operator", { assumedBy: new iam.AccountRootPrincipal() });
    refresher.grantOperate(operator);
    const template = Template.fromStack(stack);
    return { stack, refresher, template, operatorId: idOf(template, "AWS::IAM::Role", "Operator") };
  }

  it("grants exactly the CLI's calls on this credential: its function, secrets, state item, events, rule and alarms", () => {
    const { stack, refresher, template, operatorId } = operated();
    const table = onlyResource(template, "AWS::DynamoDB::Table")[0];
    // CDK sorts a statement's actions and resources.
    const alarmArns = refresher.alarms.map((alarm) => stack.getLogicalId(alarm.node.defaultChild as CfnElement)).sort().map((id) => arnOf(template, "AWS::CloudWatch::Alarm", id));
    expect(alarmArns).toHaveLength(7);
    expect(statementsOf(template, operatorId)).toEqual([
      { Effect: "Allow", Action: "lambda:GetFunctionConfiguration", Resource: arnOf(template, "AWS::Lambda::Function") },
      {
        Effect: "Allow",
        Action: ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"],
        Resource: { Ref: idOf(template, "AWS::SecretsManager::Secret", "ClientSecret") },
      },
      {
        Effect: "Allow",
        Action: ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage"],
        Resource: { Ref: idOf(template, "AWS::SecretsManager::Secret", "TokenSecret") },
      },
      {
        Effect: "Allow",
        Action: ["dynamodb:GetItem", "dynamodb:UpdateItem"],
        Resource: arnOf(template, "AWS::DynamoDB::Table", table),
        Condition: { "ForAllValues:StringEquals": { "dynamodb:LeadingKeys": ["plant-a"] } },
      },
      {
        Effect: "Allow",
        Action: "events:PutEvents",
        Resource: `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/default`,
        Condition: { "ForAllValues:StringEquals": { "events:source": ["token-refresher"] }, Null: { "events:source": "false" } },
      },
      { Effect: "Allow", Action: ["events:DisableRule", "events:EnableRule"], Resource: arnOf(template, "AWS::Events::Rule") },
      { Effect: "Allow", Action: ["cloudwatch:DisableAlarmActions", "cloudwatch:EnableAlarmActions"], Resource: alarmArns },
    ]);
  });

  it("adds each customer-managed key through Secrets Manager for its own secret only, and no alarm statement without alarms", () => {
    const stack = newStack(newApp(), "OpsKey");
    const key = new kms.Key(stack, "Key", { enableKeyRotation: true });
    const off = { enabled: false };
    const refresher = new TokenRefresher(stack, "Refresher", {
      ...IOT_PROPS,
      encryptionKey: key,
      alarms: { credentialRejected: off, appFrozen: off, pairDiscarded: off, refreshFailed: off, accessTokenTtl: off, refreshTokenTtl: off, functionErrors: off, deadLetterQueue: off },
    });
    const operator = new iam.Role(stack, "Operator", { assumedBy: new iam.AccountRootPrincipal() });
    refresher.grantOperate(operator);
    const template = Template.fromStack(stack);
    const statements = statementsOf(template, idOf(template, "AWS::IAM::Role", "Operator"));
    const keyArn = arnOf(template, "AWS::KMS::Key");
    const keyStatements = statements.filter((s) => JSON.stringify(s.Resource) === JSON.stringify(keyArn));
    expect(keyStatements).toEqual(
      ["ClientSecret", "TokenSecret"].map((secret) => ({
        Effect: "Allow",
        Action: ["kms:Decrypt", "kms:GenerateDataKey"],
        Resource: keyArn,
        Condition: {
          StringEquals: { "kms:ViaService": `secretsmanager.${REGION}.amazonaws.com`, "kms:EncryptionContext:SecretARN": { Ref: idOf(template, "AWS::SecretsManager::Secret", secret) } },
        },
      })),
    );
    expect(statements.flatMap((s) => [s.Action].flat()).filter((action) => action.startsWith("cloudwatch:"))).toEqual([]);
  });

  /** The principals each created secret's Deny statement lets through. */
  function exemptions(template: Template): unknown[][] {
    return resources(template, "AWS::SecretsManager::ResourcePolicy").map(
      ([, p]) => (p.ResourcePolicy as { Statement: { Condition: { ArnNotLike: { "aws:PrincipalArn": unknown[] } } }[] }).Statement[0]!.Condition.ArnNotLike["aws:PrincipalArn"],
    );
  }

  it("lets an operator of the same stack through the created secrets' resource policies", () => {
    const { template, operatorId } = operated({ operatorPrincipalArns: [`arn:aws:iam::${ACCOUNT}:role/listed`] });
    const lists = exemptions(template);
    expect(lists).toHaveLength(2);
    for (const list of lists) {
      expect(list).toEqual([
        { "Fn::GetAtt": [idOf(template, "AWS::IAM::Role", "ServiceRole"), "Arn"] },
        expect.objectContaining({ "Fn::Sub": expect.stringContaining("cfn-exec-role") as unknown }),
        `arn:aws:iam::${ACCOUNT}:role/listed`,
        { "Fn::GetAtt": [operatorId, "Arn"] },
      ]);
    }
  });

  it("lets an imported operator role with a literal ARN through, once however often it is granted", () => {
    const stack = newStack(newApp(), "OpsImported");
    const refresher = new TokenRefresher(stack, "Refresher", IOT_PROPS);
    const operator = iam.Role.fromRoleArn(stack, "Operator", `arn:aws:iam::${ACCOUNT}:role/on-call/operator`);
    refresher.grantOperate(operator);
    refresher.grantOperate(operator);
    for (const list of exemptions(Template.fromStack(stack))) {
      expect(list.filter((arn) => arn === `arn:aws:iam::${ACCOUNT}:role/on-call/operator`)).toHaveLength(1);
    }
  });

  it("warns, and adds no cross-stack reference, for an operator role of another stack", () => {
    const app = newApp();
    const stack = newStack(app, "Refreshers");
    const refresher = new TokenRefresher(stack, "Refresher", IOT_PROPS);
    const other = new Stack(app, "Operators", { env: ENV });
    const operator = new iam.Role(other, "Operator", { assumedBy: new iam.AccountRootPrincipal() });
    refresher.grantOperate(operator);
    const template = Template.fromStack(stack);
    for (const list of exemptions(template)) expect(list).toHaveLength(2);
    Annotations.fromStack(stack).hasWarning("*", Match.stringLikeRegexp("list its ARN in operatorPrincipalArns"));
    // The grant itself lives in the operator's stack, which depends on this one.
    expect(statementsOf(Template.fromStack(other), idOf(Template.fromStack(other), "AWS::IAM::Role", "Operator"))).toHaveLength(7);
    app.synth();
  });

  it("adds nothing to resource policies when both secrets are imported", () => {
    const stack = newStack(newApp(), "OpsNoPolicy");
    const refresher = new TokenRefresher(stack, "Refresher", {
      ...IOT_PROPS,
      clientSecret: secretsmanager.Secret.fromSecretNameV2(stack, "Client", "plant-a/client"),
      tokenSecret: secretsmanager.Secret.fromSecretNameV2(stack, "Token", "plant-a/token"),
    });
    refresher.grantOperate(new iam.Role(stack, "Operator", { assumedBy: new iam.AccountRootPrincipal() }));
    const template = Template.fromStack(stack);
    template.resourceCountIs("AWS::SecretsManager::ResourcePolicy", 0);
    Annotations.fromStack(stack).hasNoWarning("*", Match.stringLikeRegexp("operatorPrincipalArns"));
  });

  it("synthesizes without a dependency cycle and passes cdk-nag", () => {
    const { stack, template } = operated();
    expect(onlyResource(template, "AWS::Lambda::Function")).toBeDefined();
    expect(nagFindings(stack)).toEqual([]);
  });
});
