// Who can reach what: the secrets' resource policies, the state table and each function's access to
// its own item only (docs/security.md; docs/construct.md, "Permissions").
import { App, CliCredentialsStackSynthesizer, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as iam from "aws-cdk-lib/aws-iam";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { beforeAll, describe, expect, it } from "vitest";
import { POLICY_CHANGES, SECRET_WRITES } from "../../infra/token-refresher/policies.js";
import { pathSpans } from "../../lambda/config/principals.js";
import { TokenRefresher } from "../../infra/token-refresher/index.js";
import { ACCOUNT, ENV, IOT_PROPS, REGION, arnOf, cdkJsonContext, nagFindings, newApp, newStack, onlyResource, rawResource, resources } from "./support.js";

type Statement = { Sid?: string; Effect: string; Principal?: unknown; Action: string | string[]; Resource: unknown; Condition?: Record<string, Record<string, unknown>> };

const OPERATOR = `arn:aws:iam::${ACCOUNT}:role/token-refresher-operator`;
const SSO_ADMINS = `arn:aws:iam::${ACCOUNT}:role/aws-reserved/sso.amazonaws.com/${REGION}/AWSReservedSSO_AdministratorAccess_*`;
/** The bootstrap's CloudFormation execution role of the default synthesizer, in the stack's environment. */
const DEPLOYMENT_ROLE = { "Fn::Sub": `arn:\${AWS::Partition}:iam::${ACCOUNT}:role/cdk-hnb659fds-cfn-exec-role-${ACCOUNT}-${REGION}` };

function secretPolicy(template: Template, secretLogicalIdPart: string): Statement[] {
  const found = resources(template, "AWS::SecretsManager::ResourcePolicy").filter(([, p]) => JSON.stringify(p.SecretId).includes(secretLogicalIdPart));
  if (found.length !== 1) throw new Error(`expected one resource policy on ${secretLogicalIdPart}, found ${found.length}`);
  return (found[0]![1].ResourcePolicy as { Statement: Statement[] }).Statement;
}

function secretId(template: Template, part: string): string {
  return resources(template, "AWS::SecretsManager::Secret").map(([id]) => id).find((id) => id.includes(part))!;
}

function functionStatements(template: Template, prefix = ""): Statement[] {
  return resources(template, "AWS::IAM::Policy")
    .filter(([id]) => id.startsWith(prefix))
    .flatMap(([, p]) => (p.PolicyDocument as { Statement: Statement[] }).Statement);
}

describe("resource policies of the secrets the construct creates", () => {
  let template: Template;
  let stack: Stack;
  let roleArn: unknown;

  beforeAll(() => {
    stack = newStack(newApp(), "Policies");
    new TokenRefresher(stack, "Refresher", { ...IOT_PROPS, operatorPrincipalArns: [OPERATOR, SSO_ADMINS, OPERATOR] });
    template = Template.fromStack(stack);
    roleArn = arnOf(template, "AWS::IAM::Role");
  });

  const listed = () => [roleArn, DEPLOYMENT_ROLE, OPERATOR, SSO_ADMINS];
  /** The second statement: what the SSO pattern's wildcard reaches only across a `/`, unless listed by ARN. */
  const pathBound = (actions: string[]): Statement => ({
    Sid: "OperatorWildcardsStayInOnePathSegment",
    Effect: "Deny",
    Principal: { AWS: "*" },
    Action: actions,
    Resource: "*",
    Condition: { ArnLike: { "aws:PrincipalArn": [`${SSO_ADMINS}/*`] }, ArnNotLike: { "aws:PrincipalArn": [roleArn, DEPLOYMENT_ROLE, OPERATOR] } },
  });

  it("client secret: reading, writing and changing the policy are denied to every principal but the refresher's role, the deployment role and the operators", () => {
    const actions = ["secretsmanager:GetSecretValue", ...SECRET_WRITES, ...POLICY_CHANGES].sort();
    expect(secretPolicy(template, secretId(template, "ClientSecret"))).toEqual([
      {
        Sid: "OnlyRefresherAndOperatorsReadOrWrite",
        Effect: "Deny",
        Principal: { AWS: "*" },
        Action: actions,
        Resource: "*",
        // aws:PrincipalArn is the role's ARN for every session of the role; duplicates are listed once.
        Condition: { ArnNotLike: { "aws:PrincipalArn": listed() } },
      },
      pathBound(actions),
    ]);
  });

  it("token secret: every write and policy change is denied to all but the same principals; reads are left to identity policies", () => {
    const actions = [...SECRET_WRITES, ...POLICY_CHANGES].sort();
    expect(secretPolicy(template, secretId(template, "TokenSecret"))).toEqual([
      { Sid: "OnlyRefresherAndOperatorsWrite", Effect: "Deny", Principal: { AWS: "*" }, Action: actions, Resource: "*", Condition: { ArnNotLike: { "aws:PrincipalArn": listed() } } },
      pathBound(actions),
    ]);
    expect([...SECRET_WRITES].sort()).toEqual(
      ["DeleteSecret", "PutSecretValue", "RestoreSecret", "RotateSecret", "UpdateSecret", "UpdateSecretVersionStage"].map((a) => `secretsmanager:${a}`),
    );
  });

  it("allow nothing, name no wildcard action and no NotPrincipal (who gets in is evaluated in security-matrix.test.ts)", () => {
    for (const [, policy] of resources(template, "AWS::SecretsManager::ResourcePolicy")) {
      const statements = (policy.ResourcePolicy as { Statement: Statement[] }).Statement;
      expect(statements.map((s) => s.Effect)).toEqual(["Deny", "Deny"]);
      expect(statements.flatMap((s) => [s.Action].flat()).some((a) => a.includes("*"))).toBe(false);
      // A NotPrincipal would need every role-session ARN; the condition on aws:PrincipalArn does not.
      expect(JSON.stringify(statements)).not.toContain("NotPrincipal");
    }
  });

  it("gives consumers (grantRead) their reads through their own policy, untouched by the Deny", () => {
    const stack = newStack(newApp(), "Consumers");
    const refresher = new TokenRefresher(stack, "Refresher", IOT_PROPS);
    refresher.grantRead(new iam.Role(stack, "Consumer", { assumedBy: new iam.ServicePrincipal("ecs-tasks.amazonaws.com") }));
    const template = Template.fromStack(stack);
    const denied = secretPolicy(template, secretId(template, "TokenSecret")).flatMap((s) => [s.Action].flat());
    expect(denied).not.toContain("secretsmanager:GetSecretValue");
    expect(denied).not.toContain("secretsmanager:DescribeSecret");
    expect(functionStatements(template, "Consumer")).toEqual([
      expect.objectContaining({ Action: ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"], Resource: { Ref: secretId(template, "TokenSecret") } }),
    ]);
  });

  it("pass cdk-nag", () => {
    expect(nagFindings(stack)).toEqual([]);
  });

  it("exempt no deployment role when the stack deploys with the CLI's own credentials", () => {
    const app = new App({ context: { ...cdkJsonContext(), "aws:cdk:bundling-stacks": [] } });
    const stack = new Stack(app, "CliCredentials", { env: ENV, synthesizer: new CliCredentialsStackSynthesizer() });
    new TokenRefresher(stack, "Refresher", { ...IOT_PROPS, operatorPrincipalArns: [OPERATOR] });
    const template = Template.fromStack(stack);
    for (const [, policy] of resources(template, "AWS::SecretsManager::ResourcePolicy")) {
      const [statement] = (policy.ResourcePolicy as { Statement: Statement[] }).Statement;
      expect(statement!.Condition).toEqual({ ArnNotLike: { "aws:PrincipalArn": [arnOf(template, "AWS::IAM::Role"), OPERATOR] } });
    }
  });

  it("leave imported secrets' policies alone", () => {
    const stack = newStack();
    new TokenRefresher(stack, "Refresher", {
      ...IOT_PROPS,
      clientSecret: secretsmanager.Secret.fromSecretNameV2(stack, "Client", "plant-a/client"),
      operatorPrincipalArns: [OPERATOR],
    });
    const template = Template.fromStack(stack);
    const policies = resources(template, "AWS::SecretsManager::ResourcePolicy");
    expect(policies).toHaveLength(1);
    expect(JSON.stringify(policies[0]![1].SecretId)).toContain("TokenSecret");
  });

  it.each([
    ["a role session", `arn:aws:sts::${ACCOUNT}:assumed-role/Admin/alice`, /operatorPrincipalArns lists the role session .* list arn:aws:iam::<account>:role\/<path><name>/],
    ["not an IAM ARN", "Admin", /operatorPrincipalArns must hold IAM role or user ARNs .*: "Admin" is not one, got \["Admin"\]/],
    ["a group", `arn:aws:iam::${ACCOUNT}:group/admins`, /operatorPrincipalArns must hold IAM role or user ARNs/],
    [
      "patterns where one lies on a deeper path than the other's wildcard",
      [`arn:aws:iam::${ACCOUNT}:role/*`, `arn:aws:iam::${ACCOUNT}:role/team/*`],
      /operatorPrincipalArns has "arn:aws:iam::123456789012:role\/team\/\*" on a deeper path than "arn:aws:iam::123456789012:role\/\*", whose wildcards match within one path segment only/,
    ],
  ])("reject %s as an operator, naming the prop", (_case, arns, message) => {
    expect(() => new TokenRefresher(newStack(), "Refresher", { ...IOT_PROPS, operatorPrincipalArns: [arns].flat() })).toThrow(message);
  });

  it("accept patterns on paths that do not overlap, and a role by its ARN below a pattern", () => {
    const arns = [`arn:aws:iam::${ACCOUNT}:role/ops-*`, `arn:aws:iam::${ACCOUNT}:role/team/ops-?`, `arn:aws:iam::${ACCOUNT}:role/ops-x/alice`, SSO_ADMINS, `arn:aws:iam::*:role/cross-*`];
    expect(() => new TokenRefresher(newStack(), "Refresher", { ...IOT_PROPS, operatorPrincipalArns: arns })).not.toThrow();
  });

  it.each([
    [`arn:aws:iam::${ACCOUNT}:role/ops-*`, [`arn:aws:iam::${ACCOUNT}:role/ops-*/*`]],
    [`arn:aws:iam::${ACCOUNT}:role/a*b?`, [`arn:aws:iam::${ACCOUNT}:role/a*/*b?`, `arn:aws:iam::${ACCOUNT}:role/a*b/`]],
    [`arn:aws:iam::*:user/team/*`, ["arn:aws:iam::*:user/team/*/*"]],
    [`arn:aws:iam::${ACCOUNT}:role/exact`, []],
    [`arn:aws:iam::${ACCOUNT}:root`, []],
  ])("bound the wildcards of %s to one path segment with %j", (pattern, spans) => {
    expect(pathSpans(pattern)).toEqual(spans);
  });

  it("reject operators when both secrets are imported (no policy would list them)", () => {
    const stack = newStack();
    expect(
      () =>
        new TokenRefresher(stack, "Refresher", {
          ...IOT_PROPS,
          clientSecret: secretsmanager.Secret.fromSecretNameV2(stack, "C", "c"),
          tokenSecret: secretsmanager.Secret.fromSecretNameV2(stack, "T", "t"),
          operatorPrincipalArns: [OPERATOR],
        }),
    ).toThrow(/operatorPrincipalArns only applies to the resource policies of secrets the construct creates/);
  });
});

describe("the state table", () => {
  let template: Template;
  let stack: Stack;

  beforeAll(() => {
    stack = newStack(newApp(), "State");
    new TokenRefresher(stack, "A", { ...IOT_PROPS, credentialName: "plant-a" });
    new TokenRefresher(stack, "B", { ...IOT_PROPS, credentialName: "plant-b" });
    template = Template.fromStack(stack);
  });

  it("is one on-demand table per stack: partition key credential, TTL attribute ttl, encrypted, removed with the stack, no PITR", () => {
    const [tableId, table] = onlyResource(template, "AWS::DynamoDB::Table");
    expect(table).toEqual({
      AttributeDefinitions: [{ AttributeName: "credential", AttributeType: "S" }],
      KeySchema: [{ AttributeName: "credential", KeyType: "HASH" }],
      BillingMode: "PAY_PER_REQUEST",
      TimeToLiveSpecification: { AttributeName: "ttl", Enabled: true },
      SSESpecification: { SSEEnabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: false },
    });
    expect(rawResource(template, tableId)).toMatchObject({ DeletionPolicy: "Delete", UpdateReplacePolicy: "Delete" });
  });

  it("is named to each function, which reaches only its own credential's item", () => {
    const tableId = onlyResource(template, "AWS::DynamoDB::Table")[0];
    for (const [prefix, name] of [["A", "plant-a"], ["B", "plant-b"]] as const) {
      const [, fn] = resources(template, "AWS::Lambda::Function").find(([id]) => id.startsWith(prefix))!;
      expect((fn.Environment as { Variables: Record<string, unknown> }).Variables.STATE_TABLE_NAME).toEqual({ Ref: tableId });
      const dynamo = functionStatements(template, prefix).filter((s) => [s.Action].flat().some((a) => a.startsWith("dynamodb:")));
      expect(dynamo).toEqual([
        {
          Sid: "OwnStateItem",
          Effect: "Allow",
          Action: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
          Resource: arnOf(template, "AWS::DynamoDB::Table"),
          Condition: { "ForAllValues:StringEquals": { "dynamodb:LeadingKeys": [name] } },
        },
      ]);
    }
  });

  it("passes cdk-nag with its point-in-time-recovery decision acknowledged", () => {
    expect(nagFindings(stack)).toEqual([]);
    const [tableId] = onlyResource(template, "AWS::DynamoDB::Table");
    const metadata = (template.toJSON() as { Resources: Record<string, { Metadata?: { cdk_nag?: { rules_to_suppress: { id: string }[] } } }> }).Resources[tableId]!.Metadata;
    expect(metadata?.cdk_nag?.rules_to_suppress.map((r) => r.id)).toEqual(["AwsSolutions-DDB3"]);
  });

  it("can be one the user passes; then the stack creates none", () => {
    const stack = newStack();
    const table = dynamodb.Table.fromTableName(stack, "Shared", "shared-token-refresher-state");
    const refresher = new TokenRefresher(stack, "Refresher", { ...IOT_PROPS, stateTable: table });
    const template = Template.fromStack(stack);
    template.resourceCountIs("AWS::DynamoDB::Table", 0);
    expect(refresher.stateTable).toBe(table);
    template.hasResourceProperties("AWS::Lambda::Function", { Environment: { Variables: { STATE_TABLE_NAME: "shared-token-refresher-state" } } });
    expect(functionStatements(template).find((s) => s.Sid === "OwnStateItem")!.Resource).toBe(`arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/shared-token-refresher-state`);
  });
});
