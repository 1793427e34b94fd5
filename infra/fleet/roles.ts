import { ArnFormat, Stack } from "aws-cdk-lib";
import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import type * as events from "aws-cdk-lib/aws-events";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as logs from "aws-cdk-lib/aws-logs";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import { DUE_INDEX, FLEET_TAG, WRITE_BUDGET_KEY_PREFIX } from "../../lambda/settings.js";
import { fleetSecretName, type FleetSecretKind } from "../../lambda/fleet/schema.js";
import { OWN_EVENT_SOURCE, POLICY_CHANGES } from "../token-refresher/policies.js";

/** The run session's credential, as IAM sees it: the one session tag the worker sets when it assumes the run role. */
export const SESSION_CREDENTIAL = `\${aws:PrincipalTag/${FLEET_TAG.credential}}`;

/** A Lambda function's role, writing only its own log group. */
function functionRole(scope: Construct, id: string, description: string, logGroup: logs.ILogGroup): iam.Role {
  const role = new iam.Role(scope, id, { assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"), description });
  logGroup.grantWrite(role);
  return role;
}

/**
 * The worker's own role: its logs and its queue (the event source adds those), and assuming the run
 * role with a session tag. Nothing else: it chooses the tag, so it is the trust anchor and must reach
 * no secret and no item by itself.
 */
export function createWorkerRole(scope: Construct, fleetName: string, logGroup: logs.ILogGroup): iam.Role {
  return functionRole(scope, "WorkerRole", `token-refresher fleet ${fleetName}: worker (assumes the run role per credential)`, logGroup);
}

export interface RunRoleAccess {
  readonly fleetName: string;
  readonly secretNamePrefix: string;
  readonly workerRole: iam.IRole;
  readonly stateTable: dynamodb.ITable;
  readonly registryTable: dynamodb.ITable;
  readonly eventBus: events.IEventBus;
}

/**
 * The role one credential's run works with (docs/fleet.md, "Isolation"). Only the worker role may
 * assume it, and only with exactly one session tag, `TokenRefresherCredential`, not transitive; every
 * permission compares that tag with the secret's tags and name, or with the item's key.
 */
export function createRunRole(scope: Construct, access: RunRoleAccess): iam.Role {
  const role = new iam.Role(scope, "RunRole", {
    description: `token-refresher fleet ${access.fleetName}: one credential's run (session tag ${FLEET_TAG.credential})`,
    assumedBy: new iam.PrincipalWithConditions(new iam.SessionTagsPrincipal(access.workerRole), {
      StringLike: { [`aws:RequestTag/${FLEET_TAG.credential}`]: "?*" },
      "ForAllValues:StringEquals": { "aws:TagKeys": [FLEET_TAG.credential] },
      Null: { "sts:TransitiveTagKeys": "true" },
    }),
  });
  for (const statement of runStatements(Stack.of(scope), access)) role.addToPrincipalPolicy(statement);
  return role;
}

/** `arn:…:secret:<prefix><fleet>/<session's credential>/<kind>-??????`. */
function ownSecretArn(stack: Stack, access: RunRoleAccess, kind: FleetSecretKind): string {
  return stack.formatArn({
    service: "secretsmanager",
    resource: "secret",
    // Secrets Manager appends `-` and six characters to a secret's name in its ARN.
    resourceName: `${fleetSecretName({ ...access, credential: SESSION_CREDENTIAL }, kind)}-??????`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
}

/** The session's own item only; the Null guard keeps a request without key (Scan, Query) from passing vacuously. */
const OWN_ITEM = { "ForAllValues:StringEquals": { "dynamodb:LeadingKeys": [SESSION_CREDENTIAL] }, Null: { "dynamodb:LeadingKeys": "false" } };

function runStatements(stack: Stack, access: RunRoleAccess): iam.PolicyStatement[] {
  const ownSecret = { [`aws:ResourceTag/${FLEET_TAG.fleet}`]: access.fleetName, [`aws:ResourceTag/${FLEET_TAG.credential}`]: SESSION_CREDENTIAL };
  return [
    new iam.PolicyStatement({
      sid: "ReadOwnSecrets",
      actions: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
      resources: [ownSecretArn(stack, access, "client"), ownSecretArn(stack, access, "token")],
      conditions: { StringEquals: ownSecret },
    }),
    new iam.PolicyStatement({
      sid: "WriteOwnTokenSecret",
      actions: ["secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage"],
      resources: [ownSecretArn(stack, access, "token")],
      conditions: { StringEquals: { ...ownSecret, [`aws:ResourceTag/${FLEET_TAG.secret}`]: "token" } },
    }),
    // Tags decide what a session reaches, and the resource policies who else does: neither may a run change.
    new iam.PolicyStatement({
      sid: "NeverRetagOrRepolicySecrets",
      effect: iam.Effect.DENY,
      actions: ["secretsmanager:TagResource", "secretsmanager:UntagResource", ...POLICY_CHANGES],
      resources: ["*"],
    }),
    new iam.PolicyStatement({
      sid: "OwnStateItem",
      actions: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
      resources: [access.stateTable.tableArn],
      conditions: OWN_ITEM,
    }),
    new iam.PolicyStatement({
      sid: "OwnRegistryItem",
      actions: ["dynamodb:GetItem", "dynamodb:UpdateItem"],
      resources: [access.registryTable.tableArn],
      conditions: OWN_ITEM,
    }),
    new iam.PolicyStatement({
      sid: "TakeWriteBudget",
      actions: ["dynamodb:UpdateItem"],
      resources: [access.registryTable.tableArn],
      conditions: { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": [`${WRITE_BUDGET_KEY_PREFIX}*`] }, Null: { "dynamodb:LeadingKeys": "false" } },
    }),
    new iam.PolicyStatement({ sid: "PublishRefreshEvents", actions: ["events:PutEvents"], resources: [access.eventBus.eventBusArn], conditions: OWN_EVENT_SOURCE }),
  ];
}

/** Lets the worker role assume the run role (with the tag the trust policy demands). */
export function allowAssumingRunRole(workerRole: iam.Role, runRole: iam.IRole): void {
  workerRole.addToPrincipalPolicy(new iam.PolicyStatement({ sid: "AssumeRunRole", actions: ["sts:AssumeRole", "sts:TagSession"], resources: [runRole.roleArn] }));
}

export interface SchedulerAccess {
  readonly fleetName: string;
  readonly logGroup: logs.ILogGroup;
  readonly registryTable: dynamodb.ITable;
  readonly workQueue: sqs.IQueue;
  readonly eventBus: events.IEventBus;
}

/**
 * The scheduler's role: query the due index, mark what it enqueued in the registry, send to the work
 * queue and publish `Token Refresh Overdue`. It reads no secret.
 */
export function createSchedulerRole(scope: Construct, access: SchedulerAccess): iam.Role {
  const role = functionRole(scope, "SchedulerRole", `token-refresher fleet ${access.fleetName}: scheduler`, access.logGroup);
  const statements = [
    new iam.PolicyStatement({ sid: "FindDueCredentials", actions: ["dynamodb:Query"], resources: [`${access.registryTable.tableArn}/index/${DUE_INDEX}`] }),
    new iam.PolicyStatement({ sid: "MarkEnqueued", actions: ["dynamodb:UpdateItem"], resources: [access.registryTable.tableArn] }),
    new iam.PolicyStatement({ sid: "PublishOverdueEvents", actions: ["events:PutEvents"], resources: [access.eventBus.eventBusArn], conditions: OWN_EVENT_SOURCE }),
  ];
  for (const statement of statements) role.addToPrincipalPolicy(statement);
  access.workQueue.grantSendMessages(role);
  return role;
}
