import { CfnOutput, Stack } from "aws-cdk-lib";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import type * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import type * as sns from "aws-cdk-lib/aws-sns";
import type { Construct } from "constructs";

/**
 * The stack outputs the runbook reads (docs/construct.md, "Outputs"; docs/runbook.md), the same in the bundled app and in any app
 * using the construct. They are created directly under the stack, so their keys are their ids without
 * the characters CloudFormation does not allow: a credential's are its name without dashes, dots and
 * underscores, then `FunctionName`, `ClientSecretArn` or `TokenSecretArn` (`plant-a` → `plantaFunctionName`).
 */
export const OUTPUT_IDS = {
  stateTable: "StateTableName",
  alarmTopic: "AlarmTopicArn",
  functionName: (credentialName: string) => `${credentialName}-FunctionName`,
  clientSecret: (credentialName: string) => `${credentialName}-ClientSecretArn`,
  tokenSecret: (credentialName: string) => `${credentialName}-TokenSecretArn`,
} as const;

export interface CredentialOutputs {
  readonly credentialName: string;
  readonly clientSecret: secretsmanager.ISecret;
  readonly tokenSecret: secretsmanager.ISecret;
  readonly function: lambda.IFunction;
}

/** The output `AlarmTopicArn`, for an alarm topic created in `topic`'s stack. */
export function addAlarmTopicOutput(topic: sns.ITopic): void {
  new CfnOutput(Stack.of(topic), OUTPUT_IDS.alarmTopic, { value: topic.topicArn, description: "SNS topic of every token-refresher alarm" });
}

/** One credential's outputs: its function's name and its two secrets' ARNs. */
export function addCredentialOutputs(scope: Construct, credential: CredentialOutputs): void {
  const stack = Stack.of(scope);
  const name = credential.credentialName;
  new CfnOutput(stack, OUTPUT_IDS.clientSecret(name), {
    value: credential.clientSecret.secretArn,
    description: `${name}: client secret (fill it: aws secretsmanager put-secret-value --secret-id <this> --secret-string file://client.json)`,
  });
  new CfnOutput(stack, OUTPUT_IDS.tokenSecret(name), { value: credential.tokenSecret.secretArn, description: `${name}: token secret consumers read (AWSCURRENT)` });
  new CfnOutput(stack, OUTPUT_IDS.functionName(name), {
    value: credential.function.functionName,
    description: `${name}: refresher function (force a refresh: aws lambda invoke --function-name <this> --payload '{"force":true}' out.json)`,
  });
}
