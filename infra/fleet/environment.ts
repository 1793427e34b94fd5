import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import type * as events from "aws-cdk-lib/aws-events";
import type * as iam from "aws-cdk-lib/aws-iam";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import { RUNTIME_FIELDS, settingsEnvironment } from "../../lambda/config/index.js";
import { FLEET_SETTINGS, setting, type SettingField } from "../../lambda/config/table.js";
import type { FleetSettings } from "./validate.js";

/**
 * What both fleet functions carry (docs/configuration.md, "Fleet settings"): every fleet setting with
 * a variable, the runtime settings of a run, and the operators `fleet add` lists in the secrets'
 * resource policies. The same on both, so the CLI's `--function` reads the fleet from either.
 */
export const FLEET_ENVIRONMENT_FIELDS: readonly SettingField[] = [
  ...(Object.keys(FLEET_SETTINGS) as SettingField[]).filter((field) => setting(field).env !== undefined),
  ...RUNTIME_FIELDS,
  "operatorPrincipalArns",
];

/** What the environment points at, created by the construct. */
export interface FleetTargets {
  readonly registryTable: dynamodb.ITable;
  readonly stateTable: dynamodb.ITable;
  readonly workQueue: sqs.IQueue;
  readonly runRole: iam.IRole;
  readonly eventBus: events.IEventBus;
}

/** The functions' environment, written by the code the runtime's parser reads back (lambda/config); the props were checked by the same rules. */
export function fleetEnvironment(settings: FleetSettings, targets: FleetTargets): Record<string, string> {
  const values = {
    ...settings.values,
    registryTableName: targets.registryTable.tableName,
    stateTableName: targets.stateTable.tableName,
    workQueueUrl: targets.workQueue.queueUrl,
    runRoleArn: targets.runRole.roleArn,
    eventBusName: targets.eventBus.eventBusArn,
  };
  return { ...settingsEnvironment(values, FLEET_ENVIRONMENT_FIELDS), NODE_OPTIONS: "--enable-source-maps" };
}
