import type * as ec2 from "aws-cdk-lib/aws-ec2";
import type * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { SqsDestination } from "aws-cdk-lib/aws-lambda-destinations";
import type * as logs from "aws-cdk-lib/aws-logs";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import { handlerCode } from "./handler-code.js";
import { suppressNag, type NagSuppression } from "./nag.js";
import type { Settings } from "./validate.js";

/** Where the function runs, and what it is given. */
export interface RefresherFunctionOptions {
  readonly settings: Settings;
  readonly role: iam.IRole;
  readonly logGroup: logs.ILogGroup;
  readonly environment: Record<string, string>;
  /** The on-failure destination of the asynchronous invocation (the construct's dead-letter queue). */
  readonly deadLetterQueue: sqs.IQueue;
  readonly vpc?: ec2.IVpc;
  readonly vpcSubnets?: ec2.SubnetSelection;
  readonly securityGroups?: ec2.ISecurityGroup[];
}

/** The refresher function: Node.js 22 on arm64, one asynchronous attempt per trigger (the schedule is the retry). */
export function createRefresherFunction(scope: Construct, options: RefresherFunctionOptions): lambda.Function {
  const { settings } = options;
  const fn = new lambda.Function(scope, "Function", {
    description: `token-refresher: refreshes the ${settings.credentialName} access token (${settings.dialect})`,
    // The pre-bundled handler shipped in the package (docs/construct.md, "Using the construct in your own CDK app").
    code: handlerCode(),
    handler: "index.handler",
    runtime: lambda.Runtime.NODEJS_22_X,
    architecture: lambda.Architecture.ARM_64,
    memorySize: settings.memorySize,
    timeout: settings.timeout,
    role: options.role,
    logGroup: options.logGroup,
    environment: options.environment,
    reservedConcurrentExecutions: settings.reservedConcurrency,
    vpc: options.vpc,
    vpcSubnets: options.vpcSubnets,
    securityGroups: options.securityGroups,
    // Expected failures return normally (metrics + event); the schedule is the retry.
    retryAttempts: 0,
    maxEventAge: settings.eventAge,
    onFailure: new SqsDestination(options.deadLetterQueue),
  });
  const cfnFunction = fn.node.defaultChild as lambda.CfnFunction;
  // CDK makes the function DependsOn its role and the role's policy, so the first run has its
  // permissions. The role is also referenced by GetAtt, which cfn-lint reports as redundant (W3005).
  // Acknowledged on this resource only; the DependsOn list stays CDK's, with any dependency a user adds.
  cfnFunction.addMetadata("cfn-lint", { config: { ignore_checks: ["W3005"] } });
  suppressNag(fn, [PINNED_RUNTIME]);
  return fn;
}

/** Why the functions' pinned runtime is not cdk-nag's latest (the refresher's and the fleet's). */
export const PINNED_RUNTIME: NagSuppression = {
  id: "AwsSolutions-L1",
  reason:
    "nodejs22.x is pinned on purpose: the handler and its bundled AWS SDK are tested on Node 22 and the build targets node22; moving to a newer runtime is a deliberate, tested change (nodejs22.x is supported by Lambda).",
};
