import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import type * as events from "aws-cdk-lib/aws-events";
import type * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { credentialFromValues, functionEnvironment, runtimeFromValues } from "../../lambda/config/index.js";
import type { Settings } from "./validate.js";

/** What the function's environment points at. */
export interface EnvironmentTargets {
  readonly clientSecret: secretsmanager.ISecret;
  readonly tokenSecret: secretsmanager.ISecret;
  readonly stateTable: dynamodb.ITable;
  readonly eventBus: events.IEventBus;
  /** The schedule rule's name, which `token-refresher pause`/`resume` switch (a literal, see names.ts). */
  readonly scheduleRuleName: string;
  /** The names of the credential's alarms, whose actions pause/resume switch (literals). */
  readonly alarmNames: readonly string[];
}

/** The id the handler calls Secrets Manager with: the full ARN, or the partial one (name without suffix), which Secrets Manager resolves. */
export function secretId(secret: secretsmanager.ISecret): string {
  return secret.secretFullArn ?? secret.secretArn;
}

/**
 * The function's environment: the credential's spec and the runtime settings, written by the same
 * code that the handler's parser reads back (lambda/config, docs/configuration.md). `validate`
 * checked every value with the handler's rules.
 */
export function refresherEnvironment(settings: Settings, targets: EnvironmentTargets): Record<string, string> {
  const values = {
    ...settings.values,
    clientSecretId: secretId(targets.clientSecret),
    tokenSecretId: secretId(targets.tokenSecret),
    stateTableName: targets.stateTable.tableName,
    eventBusName: targets.eventBus.eventBusArn,
    scheduleRuleName: targets.scheduleRuleName,
    alarmNames: targets.alarmNames,
  };
  return { ...functionEnvironment(credentialFromValues(values), runtimeFromValues(values)), NODE_OPTIONS: "--enable-source-maps" };
}
