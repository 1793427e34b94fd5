// Who can do what, evaluated: the synthesized stack's identity policies and resource policies judged
// by an IAM policy evaluator, cell by cell, against the matrix in docs/security.md (the one place the
// expected answers live). A cell that differs fails the test, which prints the matrix as computed.
import { readFileSync } from "node:fs";
import { Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kms from "aws-cdk-lib/aws-kms";
import { beforeAll, describe, expect, it } from "vitest";
import { TokenRefresher } from "../../infra/token-refresher/index.js";
import { ADMINISTRATOR_ACCESS, compareWithDocumented, evaluate, roleSession, TemplateIam, type MatrixRow, type PolicyDocument, type Principal } from "../support/iam-matrix.js";
import { ACCOUNT, ENV, IOT_PROPS, REGION, ROOT, newApp } from "./support.js";

const OTHER_ACCOUNT = "210987654321";
const OPERATOR_PATTERN = `arn:aws:iam::${ACCOUNT}:role/ops-*`;
const DEPLOYMENT_ROLE = `arn:aws:iam::${ACCOUNT}:role/cdk-hnb659fds-cfn-exec-role-${ACCOUNT}-${REGION}`;
const ADMIN_ROLE = `arn:aws:iam::${ACCOUNT}:role/admin`;
const STACK_ARN = `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/Matrix/00000000-0000-0000-0000-000000000000`;
const DOC = new URL("docs/security.md", ROOT);
const BROAD: PolicyDocument = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "secretsmanager:*", Resource: "*" }] };

/** The stack the matrix is about: two credentials (A with a customer-managed key), a consumer of A, an operator of A. */
function matrixStack(extraOperators: string[] = []): TemplateIam {
  // No cdk-nag here (test/infra/security.test.ts runs it): the matrix is about what the policies allow.
  const stack = new Stack(newApp(), "Matrix", { env: ENV });
  const key = new kms.Key(stack, "Key", { enableKeyRotation: true });
  const operatorPrincipalArns = [OPERATOR_PATTERN, ...extraOperators];
  const a = new TokenRefresher(stack, "A", { ...IOT_PROPS, credentialName: "plant-a", encryptionKey: key, operatorPrincipalArns });
  new TokenRefresher(stack, "B", { ...IOT_PROPS, credentialName: "plant-b", operatorPrincipalArns });
  a.grantRead(new iam.Role(stack, "Consumer", { assumedBy: new iam.ServicePrincipal("ecs-tasks.amazonaws.com") }));
  a.grantOperate(new iam.Role(stack, "Operator", { roleName: "ops-team", assumedBy: new iam.AccountRootPrincipal() }));
  return TemplateIam.of(Template.fromStack(stack).toJSON(), { account: ACCOUNT, region: REGION });
}

/** The principals (columns, in the table's order). */
function principals(t: TemplateIam): Record<string, Principal> {
  const operatorPolicies = t.identityPolicies(t.logicalId("AWS::IAM::Role", "Operator"));
  return {
    "refresher A": t.roleSession(t.logicalId("AWS::IAM::Role", "AServiceRole")),
    "refresher B": t.roleSession(t.logicalId("AWS::IAM::Role", "BServiceRole")),
    consumer: t.roleSession(t.logicalId("AWS::IAM::Role", "Consumer")),
    "broad consumer": roleSession(`arn:aws:iam::${ACCOUNT}:role/broad-consumer`, [BROAD]),
    operator: t.roleSession(t.logicalId("AWS::IAM::Role", "Operator"), { sessionName: "alice" }),
    "ops-oncall": roleSession(`arn:aws:iam::${ACCOUNT}:role/ops-oncall`, operatorPolicies),
    "ops-x/intruder": roleSession(`arn:aws:iam::${ACCOUNT}:role/ops-x/intruder`, operatorPolicies),
    admin: roleSession(ADMIN_ROLE, [ADMINISTRATOR_ACCESS], { sessionName: "bob" }),
    deployer: roleSession(DEPLOYMENT_ROLE, [ADMINISTRATOR_ACCESS], { sessionName: "AWSCloudFormation" }),
    "other account": roleSession(`arn:aws:iam::${OTHER_ACCOUNT}:role/admin`, [ADMINISTRATOR_ACCESS]),
  };
}

const SECRET_ACTIONS = ["GetSecretValue", "DescribeSecret", "PutSecretValue", "UpdateSecret", "UpdateSecretVersionStage", "DeleteSecret", "PutResourcePolicy", "DeleteResourcePolicy"];

/** The rows (resource × action), each with the request as AWS makes it, context keys included. */
function rows(t: TemplateIam): MatrixRow[] {
  const id = (type: string, prefix: string) => t.logicalId(type, prefix);
  const secrets: [string, string][] = [
    ["A client secret", t.arn(id("AWS::SecretsManager::Secret", "AClientSecret"))],
    ["A token secret", t.arn(id("AWS::SecretsManager::Secret", "ATokenSecret"))],
    ["B client secret", t.arn(id("AWS::SecretsManager::Secret", "BClientSecret"))],
    ["B token secret", t.arn(id("AWS::SecretsManager::Secret", "BTokenSecret"))],
  ];
  const result: MatrixRow[] = secrets.flatMap(([label, arn]) =>
    SECRET_ACTIONS.map((action) => ({ resource: label, action, request: (principal: Principal) => ({ principal, action: `secretsmanager:${action}`, resource: arn }) })),
  );
  const key = t.arn(id("AWS::KMS::Key", "Key"));
  for (const [label, arn] of secrets.slice(0, 2)) {
    // What Secrets Manager asks KMS when the principal reads the secret: via the service, with the secret's ARN in the context.
    result.push({
      resource: `A key, for the ${label}`,
      action: "kms:Decrypt",
      request: (principal) => ({
        principal,
        action: "kms:Decrypt",
        resource: key,
        context: { "kms:ViaService": `secretsmanager.${REGION}.amazonaws.com`, "kms:EncryptionContext:SecretARN": arn, "kms:CallerAccount": principal.account },
      }),
    });
  }
  const table = t.arn(id("AWS::DynamoDB::Table", "TokenRefresherStateTable"));
  for (const item of ["plant-a", "plant-b"]) {
    for (const action of ["GetItem", "PutItem", "UpdateItem"]) {
      result.push({
        resource: `state table, item ${item}`,
        action,
        request: (principal) => ({ principal, action: `dynamodb:${action}`, resource: table, context: { "dynamodb:LeadingKeys": [item] } }),
      });
    }
  }
  for (const source of ["token-refresher", "aws.partner"]) {
    result.push({
      resource: `default event bus, source ${source}`,
      action: "PutEvents",
      request: (principal) => ({ principal, action: "events:PutEvents", resource: `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/default`, context: { "events:source": [source] } }),
    });
  }
  for (const credential of ["A", "B"]) {
    const rule = t.arn(id("AWS::Events::Rule", `${credential}Schedule`));
    const alarm = t.arn(id("AWS::CloudWatch::Alarm", `${credential}CredentialRejectedAlarm`));
    for (const action of ["DisableRule", "EnableRule"]) result.push({ resource: `${credential} schedule rule`, action, request: (principal) => ({ principal, action: `events:${action}`, resource: rule }) });
    for (const action of ["DisableAlarmActions", "EnableAlarmActions"]) {
      result.push({ resource: `${credential} alarms`, action, request: (principal) => ({ principal, action: `cloudwatch:${action}`, resource: alarm }) });
    }
  }
  // How an administrator who is not listed gets in: redeploy with itself listed (the deployment role is exempt).
  result.push({ resource: "the stack", action: "UpdateStack", request: (principal) => ({ principal, action: "cloudformation:UpdateStack", resource: STACK_ARN }) });
  result.push({ resource: "deployment role", action: "PassRole", request: (principal) => ({ principal, action: "iam:PassRole", resource: DEPLOYMENT_ROLE }) });
  // Or act through a listed role of the account: make the refresher's role assumable and give it the call.
  const refresherRole = t.arn(id("AWS::IAM::Role", "AServiceRole"));
  for (const action of ["UpdateAssumeRolePolicy", "PutRolePolicy"]) {
    result.push({ resource: "A refresher role", action, request: (principal) => ({ principal, action: `iam:${action}`, resource: refresherRole }) });
  }
  return result;
}

describe("the security matrix (docs/security.md), evaluated on the synthesized template", () => {
  let t: TemplateIam;
  let who: Record<string, Principal>;

  beforeAll(() => {
    t = matrixStack();
    who = principals(t);
  });

  it("has every cell as documented", async () => {
    const { differences, evaluated } = await compareWithDocumented(readFileSync(DOC, "utf8"), "matrix", rows(t), who, (request) => t.evaluate(request));
    expect(differences, evaluated).toEqual([]);
  });

  it("closes the two-step read: the policy that denies the read cannot be removed or replaced first", async () => {
    const broad = who["broad consumer"]!;
    const clientSecret = t.arn(t.logicalId("AWS::SecretsManager::Secret", "AClientSecret"));
    for (const action of ["DeleteResourcePolicy", "PutResourcePolicy"]) {
      expect((await t.evaluate({ principal: broad, action: `secretsmanager:${action}`, resource: clientSecret })).reason).toBe(
        "denied by the resource policy statement OnlyRefresherAndOperatorsReadOrWrite",
      );
    }
    // What the second step would meet had the first succeeded: nothing left to deny the read.
    const withoutPolicy = await evaluate({ principal: broad, action: "secretsmanager:GetSecretValue", resource: clientSecret });
    expect(withoutPolicy.result).toBe("Allowed");
  });

  it("lets an administrator who is not listed in by redeploying with itself listed", async () => {
    const admin = who.admin!;
    const deployer = who.deployer!;
    const clientSecret = t.arn(t.logicalId("AWS::SecretsManager::Secret", "AClientSecret"));
    expect((await t.evaluate({ principal: admin, action: "secretsmanager:GetSecretValue", resource: clientSecret })).result).toBe("ExplicitlyDenied");
    // CloudFormation, with the deployment role, replaces the policy by the one listing the administrator...
    expect((await t.evaluate({ principal: deployer, action: "secretsmanager:PutResourcePolicy", resource: clientSecret })).result).toBe("Allowed");
    const redeployed = matrixStack([ADMIN_ROLE]);
    const sameSecret = redeployed.arn(redeployed.logicalId("AWS::SecretsManager::Secret", "AClientSecret"));
    expect(sameSecret).toBe(clientSecret);
    // ... under which the administrator reads it.
    expect(await redeployed.evaluate({ principal: admin, action: "secretsmanager:GetSecretValue", resource: sameSecret })).toMatchObject({ result: "Allowed" });
  });

  it("keeps an operator pattern's wildcard within one path segment, and a role listed by its own ARN on a deeper path let through", async () => {
    const clientSecret = t.arn(t.logicalId("AWS::SecretsManager::Secret", "AClientSecret"));
    const intruder = who["ops-x/intruder"]!;
    expect((await t.evaluate({ principal: intruder, action: "secretsmanager:GetSecretValue", resource: clientSecret })).reason).toBe(
      "denied by the resource policy statement OperatorWildcardsStayInOnePathSegment",
    );
    const listed = matrixStack([`arn:aws:iam::${ACCOUNT}:role/ops-x/intruder`]);
    expect((await listed.evaluate({ principal: intruder, action: "secretsmanager:GetSecretValue", resource: clientSecret })).result).toBe("Allowed");
  });
});
