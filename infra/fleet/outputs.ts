import { CfnOutput, Stack } from "aws-cdk-lib";
import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";

/**
 * A fleet's stack outputs, for the CLI and the runbook (docs/fleet.md, "Outputs"): created directly
 * under the stack, so their keys are the fleet's name without dashes, dots and underscores, then
 * `FleetWorkerFunctionName`, `FleetRegistryTableName` or `FleetDeadLetterQueueUrl` (`plants` → `plantsFleetWorkerFunctionName`).
 */
export const FLEET_OUTPUT_IDS = {
  workerFunctionName: (fleetName: string) => `${fleetName}-FleetWorkerFunctionName`,
  registryTableName: (fleetName: string) => `${fleetName}-FleetRegistryTableName`,
  deadLetterQueueUrl: (fleetName: string) => `${fleetName}-FleetDeadLetterQueueUrl`,
} as const;

export interface FleetOutputs {
  readonly fleetName: string;
  readonly workerFunction: lambda.IFunction;
  readonly registryTable: dynamodb.ITable;
  readonly deadLetterQueue: sqs.IQueue;
}

export function addFleetOutputs(scope: Construct, fleet: FleetOutputs): void {
  const stack = Stack.of(scope);
  const name = fleet.fleetName;
  new CfnOutput(stack, FLEET_OUTPUT_IDS.workerFunctionName(name), {
    value: fleet.workerFunction.functionName,
    description: `fleet ${name}: worker function, whose environment holds the fleet's settings (token-refresher fleet list --function <this>)`,
  });
  new CfnOutput(stack, FLEET_OUTPUT_IDS.registryTableName(name), { value: fleet.registryTable.tableName, description: `fleet ${name}: registry table (one item per credential)` });
  new CfnOutput(stack, FLEET_OUTPUT_IDS.deadLetterQueueUrl(name), { value: fleet.deadLetterQueue.queueUrl, description: `fleet ${name}: the work queue's dead-letter queue` });
}
