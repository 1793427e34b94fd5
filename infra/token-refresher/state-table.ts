import { CfnOutput, RemovalPolicy, Stack } from "aws-cdk-lib";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import type { Construct } from "constructs";
import { STATE_KEY, STATE_TTL_ATTRIBUTE } from "../../lambda/settings.js";
import { suppressNag } from "./nag.js";
import { OUTPUT_IDS } from "./outputs.js";

/** Construct id of the stack's state table, directly under the stack. */
const STATE_TABLE_ID = "TokenRefresherStateTable";

/**
 * The state table of `scope`'s stack, created by the first TokenRefresher in the stack with the stack
 * output `StateTableName`, and shared by all of them (docs/construct.md, "Per stack"):
 * on-demand, one item per credential under the partition key `credential`, stale items removed
 * through the TTL attribute `ttl`.
 *
 * - Encrypted with the AWS-managed key `aws/dynamodb` (KMS use appears in CloudTrail; no key policy
 *   to maintain). The table holds no secret: leases, failure streaks and version ids.
 * - Removed with the stack (`DESTROY`) and without point-in-time recovery: everything in it is
 *   coordination state that the next run rebuilds; the token pairs live in the token secrets.
 */
export function stateTableOf(scope: Construct): dynamodb.Table {
  const stack = Stack.of(scope);
  const existing = stack.node.tryFindChild(STATE_TABLE_ID);
  if (existing) return existing as dynamodb.Table;
  const table = new dynamodb.Table(stack, STATE_TABLE_ID, {
    partitionKey: { name: STATE_KEY, type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    timeToLiveAttribute: STATE_TTL_ATTRIBUTE,
    encryption: dynamodb.TableEncryption.AWS_MANAGED,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: false },
    removalPolicy: RemovalPolicy.DESTROY,
  });
  new CfnOutput(stack, OUTPUT_IDS.stateTable, {
    value: table.tableName,
    description: "DynamoDB table of every credential's lease and operational state (one item per credential)",
  });
  suppressNag(table, [
    {
      id: "AwsSolutions-DDB3",
      reason:
        "The table holds only coordination state (leases, failure backoff, version ids) that the next run rebuilds; the token pairs live in Secrets Manager. A point-in-time restore creates a new table the functions would not use.",
    },
  ]);
  return table;
}
