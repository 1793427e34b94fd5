import { Duration, RemovalPolicy } from "aws-cdk-lib";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import type * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import type * as logs from "aws-cdk-lib/aws-logs";
import * as sqs from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import { DUE_INDEX, DUE_SHARD_ATTRIBUTE, NEXT_DUE_AT_ATTRIBUTE, REGISTRY_KEY, REGISTRY_TTL_ATTRIBUTE } from "../../lambda/settings.js";
import { PINNED_RUNTIME } from "../token-refresher/function.js";
import { handlerCode, type HandlerBundle } from "../token-refresher/handler-code.js";
import { suppressNag } from "../token-refresher/nag.js";
import { WORK_QUEUE_MAX_RECEIVES } from "./alarms.js";

/**
 * The registry (docs/fleet.md, "Registry item"): one item per credential, on demand, with the sparse
 * index `due` (`dueShard`, `nextDueAt`) that only active credentials are in. Unlike the state table it
 * is the fleet's data (every credential's spec and bookkeeping; losing it orphans secrets): kept with
 * point-in-time recovery and retained when the stack goes.
 */
export function createRegistryTable(scope: Construct): dynamodb.Table {
  const table = new dynamodb.Table(scope, "RegistryTable", {
    partitionKey: { name: REGISTRY_KEY, type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    // Only the write-budget items carry it.
    timeToLiveAttribute: REGISTRY_TTL_ATTRIBUTE,
    encryption: dynamodb.TableEncryption.AWS_MANAGED,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    removalPolicy: RemovalPolicy.RETAIN,
  });
  table.addGlobalSecondaryIndex({
    indexName: DUE_INDEX,
    partitionKey: { name: DUE_SHARD_ATTRIBUTE, type: dynamodb.AttributeType.STRING },
    sortKey: { name: NEXT_DUE_AT_ATTRIBUTE, type: dynamodb.AttributeType.NUMBER },
    // Items are small, and the scheduler needs the spec's name and times without a read per item.
    projectionType: dynamodb.ProjectionType.ALL,
  });
  return table;
}

/**
 * The work queue and its dead-letter queue, encrypted and SSL-only. A message is one credential to
 * refresh; the scheduler enqueues again whatever is still due, so an hour's retention is plenty and
 * a stale backlog never outlives an outage by long. Visibility: six times the worker's timeout, as
 * Lambda's SQS event source asks (throttled invocations retry within it), and longer than the
 * run's lease, so a message redelivered after a crashed run finds the lease expired.
 */
export function createWorkQueues(scope: Construct, workerTimeout: Duration): { workQueue: sqs.Queue; deadLetterQueue: sqs.Queue } {
  const deadLetterQueue = new sqs.Queue(scope, "DeadLetterQueue", { encryption: sqs.QueueEncryption.SQS_MANAGED, enforceSSL: true, retentionPeriod: Duration.days(14) });
  const workQueue = new sqs.Queue(scope, "WorkQueue", {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.hours(1),
    visibilityTimeout: Duration.seconds(workerTimeout.toSeconds() * 6),
    deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: WORK_QUEUE_MAX_RECEIVES },
  });
  return { workQueue, deadLetterQueue };
}

export interface FleetFunctionOptions {
  readonly bundle: HandlerBundle;
  readonly description: string;
  readonly role: iam.IRole;
  readonly logGroup: logs.ILogGroup;
  readonly environment: Record<string, string>;
  readonly timeout: Duration;
  readonly memorySize: number;
}

/** A fleet function: the shipped bundle, Node.js 22 on arm64, like the dedicated refresher's. */
export function createFleetFunction(scope: Construct, id: string, options: FleetFunctionOptions): lambda.Function {
  const fn = new lambda.Function(scope, id, {
    description: options.description,
    code: handlerCode(options.bundle),
    handler: "index.handler",
    runtime: lambda.Runtime.NODEJS_22_X,
    architecture: lambda.Architecture.ARM_64,
    memorySize: options.memorySize,
    timeout: options.timeout,
    role: options.role,
    logGroup: options.logGroup,
    environment: options.environment,
  });
  // CDK makes the function DependsOn its role and the role's policy, which it also references (W3005), as the refresher's.
  (fn.node.defaultChild as lambda.CfnFunction).addMetadata("cfn-lint", { config: { ignore_checks: ["W3005"] } });
  suppressNag(fn, [PINNED_RUNTIME]);
  return fn;
}
