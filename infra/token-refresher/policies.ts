import { DefaultStackSynthesizer, Fn, Lazy, Stack } from "aws-cdk-lib";
import type * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import type * as events from "aws-cdk-lib/aws-events";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as kms from "aws-cdk-lib/aws-kms";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import type * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { EVENT_SOURCE } from "../../lambda/telemetry/names.js";
import { isPathPattern } from "../../lambda/config/principals.js";
import { secretGuardStatements, type GuardedSecret } from "./secret-guard.js";

/**
 * PutEvents with this stack's source only. `events:source` is multivalued (one value per entry of the
 * call), so it takes a set operator: every entry's source must be ours, and there must be one.
 */
export const OWN_EVENT_SOURCE = { "ForAllValues:StringEquals": { "events:source": [EVENT_SOURCE] }, Null: { "events:source": "false" } };

export { POLICY_CHANGES, SECRET_WRITES } from "./secret-guard.js";

/** The ARN IAM statements use: the full ARN, or the partial ARN plus Secrets Manager's 6-character suffix. */
export function arnForPolicies(secret: secretsmanager.ISecret): string {
  return secret.secretFullArn ?? `${secret.secretArn}-??????`;
}

/**
 * Conditions of a KMS grant for one secret: use through Secrets Manager in the stack's region, for
 * that secret only (Secrets Manager puts the secret's ARN in the encryption context of every call).
 */
export function keyUseForSecret(stack: Stack, secret: secretsmanager.ISecret): Record<string, Record<string, string>> {
  const viaService = { "kms:ViaService": `secretsmanager.${stack.region}.amazonaws.com` };
  const context = { "kms:EncryptionContext:SecretARN": arnForPolicies(secret) };
  return secret.secretFullArn ? { StringEquals: { ...viaService, ...context } } : { StringEquals: viaService, StringLike: context };
}

/** What the function's role is given access to. */
export interface FunctionAccess {
  readonly credentialName: string;
  readonly clientSecret: secretsmanager.ISecret;
  readonly tokenSecret: secretsmanager.ISecret;
  readonly stateTable: dynamodb.ITable;
  readonly eventBus: events.IEventBus;
}

/**
 * Exactly the calls the handler makes (docs/construct.md, "Permissions"): Secrets Manager `GetSecretValue` on
 * both secrets and `PutSecretValue` + `UpdateSecretVersionStage` on the token secret; its own
 * state-table item; `PutEvents` with its source; KMS only for secrets with a customer-managed key.
 */
export function grantFunctionAccess(role: iam.Role, access: FunctionAccess): void {
  const stack = Stack.of(role);
  const statements = [
    new iam.PolicyStatement({ sid: "ReadClientSecret", actions: ["secretsmanager:GetSecretValue"], resources: [arnForPolicies(access.clientSecret)] }),
    new iam.PolicyStatement({
      sid: "ReadWriteTokenSecret",
      actions: ["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage"],
      resources: [arnForPolicies(access.tokenSecret)],
    }),
    ...keyStatement("ClientSecretKey", ["kms:Decrypt"], access.clientSecret.encryptionKey, keyUseForSecret(stack, access.clientSecret)),
    ...keyStatement("TokenSecretKey", ["kms:Decrypt", "kms:GenerateDataKey"], access.tokenSecret.encryptionKey, keyUseForSecret(stack, access.tokenSecret)),
    new iam.PolicyStatement({
      sid: "OwnStateItem",
      actions: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
      resources: [access.stateTable.tableArn],
      // The table is shared by every credential of the stack; each function reaches only its own item.
      conditions: { "ForAllValues:StringEquals": { "dynamodb:LeadingKeys": [access.credentialName] } },
    }),
    new iam.PolicyStatement({
      sid: "PublishRefreshEvents",
      actions: ["events:PutEvents"],
      resources: [access.eventBus.eventBusArn],
      conditions: OWN_EVENT_SOURCE,
    }),
  ];
  for (const statement of statements) role.addToPrincipalPolicy(statement);
}

function keyStatement(sid: string, actions: string[], key: kms.IKey | undefined, conditions: Record<string, Record<string, string>>): iam.PolicyStatement[] {
  return key ? [new iam.PolicyStatement({ sid, actions, resources: [key.keyArn], conditions })] : [];
}

/**
 * Lambda's calls for the function's network interfaces in a VPC (what the managed policy
 * AWSLambdaVPCAccessExecutionRole allows, without its logs:* on every group). EC2 does not scope
 * these to resources.
 */
export function vpcNetworkInterfaceStatement(): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: "ManageVpcNetworkInterfaces",
    actions: [
      "ec2:CreateNetworkInterface",
      "ec2:DescribeNetworkInterfaces",
      "ec2:DescribeSubnets",
      "ec2:DeleteNetworkInterface",
      "ec2:AssignPrivateIpAddresses",
      "ec2:UnassignPrivateIpAddresses",
    ],
    resources: ["*"],
  });
}

/**
 * Principals the secrets' resource policies let through: the refresher's role, the operators, and
 * the role CloudFormation deploys this stack with (it updates and deletes the secrets; it can rewrite
 * these policies anyway, so exempting it grants nothing new). Matched on `aws:PrincipalArn`, which is
 * the role's ARN for every session of the role, so no session ARN needs listing.
 */
export function exemptPrincipalArns(role: iam.IRole, operatorPrincipalArns: readonly string[]): string[] {
  const deploymentRole = cloudFormationExecutionRoleArn(Stack.of(role));
  return [role.roleArn, ...(deploymentRole ? [deploymentRole] : []), ...operatorPrincipalArns];
}

/** The bootstrap's CloudFormation execution role, when the stack deploys with one (the default synthesizer). */
function cloudFormationExecutionRoleArn(stack: Stack): string | undefined {
  const synthesizer = stack.synthesizer;
  if (!(synthesizer instanceof DefaultStackSynthesizer)) return undefined;
  try {
    // `arn:${AWS::Partition}:iam::${AWS::AccountId}:role/...`, placeholders for Fn::Sub.
    return Fn.sub(synthesizer.cloudFormationExecutionRoleArn);
  } catch {
    // A synthesizer configured without an execution role: CloudFormation uses the deployer's own credentials.
    return undefined;
  }
}

/**
 * Client secret: reading it, writing it and changing its policy are denied to every principal but
 * `exempt` (docs/security.md; the statements are ./secret-guard.ts's). Nobody is locked out: the
 * deployment role is listed (redeploying rewrites the policy), and an account administrator can act
 * through the refresher's role, which is listed too.
 */
export function restrictClientSecret(secret: secretsmanager.Secret, exempt: readonly string[], operatorPatterns: readonly string[]): void {
  guardSecret(secret, "client", exempt, operatorPatterns);
}

/** Token secret: every write and policy change is denied to all but `exempt`; reads stay with identity policies (`grantRead`). */
export function restrictTokenSecret(secret: secretsmanager.Secret, exempt: readonly string[], operatorPatterns: readonly string[]): void {
  guardSecret(secret, "token", exempt, operatorPatterns);
}

function guardSecret(secret: secretsmanager.Secret, which: GuardedSecret, exempt: readonly string[], operatorPatterns: readonly string[]): void {
  const stack = Stack.of(secret);
  // `exempt` is lazy (grantOperate adds to it); its own ARNs, without the patterns, stay let through.
  const listedByArn = Lazy.list({ produce: () => (stack.resolve(exempt) as unknown[]).filter((arn) => typeof arn !== "string" || !isPathPattern(arn)) as string[] });
  for (const statement of secretGuardStatements(which, exempt, operatorPatterns, listedByArn)) secret.addToResourcePolicy(iam.PolicyStatement.fromJson(statement));
}

/**
 * Consumers' read access to the token secret (`GetSecretValue`, `DescribeSecret`) and, with a
 * customer-managed key, `kms:Decrypt` through Secrets Manager for that secret only. Both go into the
 * grantee's own policy (never the key policy, which would tie this stack to the consumer's).
 */
export function grantReadTokenSecret(grantee: iam.IGrantable, tokenSecret: secretsmanager.ISecret): iam.Grant {
  const grant = iam.Grant.addToPrincipalOrResource({
    grantee,
    actions: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
    resourceArns: [arnForPolicies(tokenSecret)],
    resource: tokenSecret,
  });
  const key = tokenSecret.encryptionKey;
  if (!key) return grant;
  const decrypt = iam.Grant.addToPrincipal({
    grantee,
    actions: ["kms:Decrypt"],
    resourceArns: [key.keyArn],
    conditions: keyUseForSecret(Stack.of(tokenSecret), tokenSecret),
  });
  return grant.combine(decrypt);
}

/** What an operator of one credential reaches (see {@link grantOperateCredential}). */
export interface OperatedCredential extends FunctionAccess {
  readonly function: lambda.IFunction;
  readonly scheduleRule: events.IRule;
  readonly alarms: readonly cloudwatch.IAlarm[];
}

/**
 * The CLI's calls on one credential (docs/construct.md, "Permissions"), in the grantee's own policy:
 * `--function` reads the function's configuration; `status` the token secret and the state item;
 * `refresh` (and `resume`, which runs one) the workflow's calls, as the function makes them; `init`
 * also describes both secrets and writes the client secret (never `CreateSecret`: the secrets exist);
 * `pause`/`resume` switch the schedule rule, the alarms' actions and the pause record in the state item.
 */
export function grantOperateCredential(grantee: iam.IGrantable, credential: OperatedCredential): iam.Grant {
  const stack = Stack.of(credential.function);
  const grants = [
    iam.Grant.addToPrincipal({ grantee, actions: ["lambda:GetFunctionConfiguration"], resourceArns: [credential.function.functionArn] }),
    iam.Grant.addToPrincipal({
      grantee,
      actions: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret", "secretsmanager:PutSecretValue"],
      resourceArns: [arnForPolicies(credential.clientSecret)],
    }),
    iam.Grant.addToPrincipal({
      grantee,
      actions: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret", "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage"],
      resourceArns: [arnForPolicies(credential.tokenSecret)],
    }),
    iam.Grant.addToPrincipal({
      grantee,
      actions: ["dynamodb:GetItem", "dynamodb:UpdateItem"],
      resourceArns: [credential.stateTable.tableArn],
      conditions: { "ForAllValues:StringEquals": { "dynamodb:LeadingKeys": [credential.credentialName] } },
    }),
    iam.Grant.addToPrincipal({
      grantee,
      actions: ["events:PutEvents"],
      resourceArns: [credential.eventBus.eventBusArn],
      conditions: OWN_EVENT_SOURCE,
    }),
    iam.Grant.addToPrincipal({ grantee, actions: ["events:DisableRule", "events:EnableRule"], resourceArns: [credential.scheduleRule.ruleArn] }),
  ];
  if (credential.alarms.length > 0) {
    grants.push(
      iam.Grant.addToPrincipal({
        grantee,
        actions: ["cloudwatch:DisableAlarmActions", "cloudwatch:EnableAlarmActions"],
        resourceArns: credential.alarms.map((alarm) => alarm.alarmArn),
      }),
    );
  }
  // Both secrets are read and written (init writes the client secret), each key only through Secrets Manager for its secret.
  for (const secret of [credential.clientSecret, credential.tokenSecret]) {
    const key = secret.encryptionKey;
    if (key) {
      grants.push(
        iam.Grant.addToPrincipal({ grantee, actions: ["kms:Decrypt", "kms:GenerateDataKey"], resourceArns: [key.keyArn], conditions: keyUseForSecret(stack, secret) }),
      );
    }
  }
  return grants.reduce((all, grant) => all.combine(grant));
}
