import { Duration, Stack } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import type { Construct } from "constructs";
import { alarmName } from "./names.js";
import type { AlarmSettings } from "./validate.js";

/** The alarms a refresher can have (keys of the `alarms` prop). */
export type AlarmKind =
  | "credentialRejected"
  | "appFrozen"
  | "pairDiscarded"
  | "refreshFailed"
  | "accessTokenTtl"
  | "refreshTokenTtl"
  | "functionErrors"
  | "deadLetterQueue";

interface AlarmDefinition {
  /** Alarm name suffix and construct id (`<id>Alarm`); stable, so deployed alarms are not replaced. */
  readonly id: string;
  /** The alarm's period: the schedule interval, or a fixed one for the queue alarm. */
  readonly period: "schedule" | Duration;
  /** Created only when its props say `enabled: true` (docs/cost.md says why each such alarm is off). */
  readonly optIn?: boolean;
  readonly evaluationPeriods: number;
  readonly datapointsToAlarm: number;
  readonly comparisonOperator: cloudwatch.ComparisonOperator;
  readonly treatMissingData: cloudwatch.TreatMissingData;
  /** The README Runbook subsection the description points to. */
  readonly runbookSection: string;
  readonly describe: (credential: string, threshold: number) => string;
}

const AT_LEAST = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD;
const NOT_BREACHING = cloudwatch.TreatMissingData.NOT_BREACHING;

/** Pages on the first occurrence: these outcomes need a person, and retrying will not help. */
const firstOccurrence = (id: string, runbookSection: string, describe: AlarmDefinition["describe"]): AlarmDefinition => ({
  id,
  period: "schedule",
  evaluationPeriods: 1,
  datapointsToAlarm: 1,
  comparisonOperator: AT_LEAST,
  treatMissingData: NOT_BREACHING,
  runbookSection,
  describe,
});

/** Every alarm's defaults; docs/construct.md, "Alarms", and the README's "Alarms at a glance" list the same. */
export const ALARM_DEFAULTS: Record<AlarmKind, AlarmDefinition> = {
  credentialRejected: firstOccurrence(
    "CredentialRejected",
    "CredentialRejected",
    (name) =>
      `The platform rejected the ${name} credential (IoT 100208 after a fresh login, or OAuth2 invalid_grant/invalid_client). Check the client secret; an OAuth2 refresh token may need a new authorization.`,
  ),
  appFrozen: firstOccurrence(
    "AppFrozen",
    "AppFrozen",
    (name) => `The ${name} app is frozen on the platform (IoT 100247, usually arrears). Tokens cannot be refreshed until the account is settled.`,
  ),
  pairDiscarded: firstOccurrence(
    "PairDiscarded",
    "PairDiscarded",
    (name) =>
      `A ${name} token pair the platform issued could not be stored before the invocation ran out of time, so the stored pair may no longer be valid. Force a refresh; a strict OAuth2 server may need a new authorization.`,
  ),
  refreshFailed: {
    id: "RefreshFailed",
    period: "schedule",
    evaluationPeriods: 2,
    datapointsToAlarm: 2,
    comparisonOperator: AT_LEAST,
    treatMissingData: NOT_BREACHING,
    runbookSection: "RefreshFailed on consecutive runs",
    describe: (name) => `The ${name} refresh failed on consecutive runs. The function's log line and the "Token Refresh Failed" event name the outcome and error code.`,
  },
  accessTokenTtl: {
    id: "AccessTokenTtl",
    period: "schedule",
    evaluationPeriods: 2,
    datapointsToAlarm: 2,
    comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
    // Dead-man's switch: a refresher that stopped running reports nothing, and that pages too.
    treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    runbookSection: "AccessTokenTtl low or missing",
    describe: (name, threshold) =>
      `The ${name} access token has less than ${Duration.seconds(threshold).toHumanString()} left, or no refresher run reported it (the refresher stopped). Consumers will soon get 401s.`,
  },
  refreshTokenTtl: {
    id: "RefreshTokenTtl",
    period: "schedule",
    evaluationPeriods: 2,
    datapointsToAlarm: 2,
    comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
    // Only credentials whose refresh token has a known expiry report it (IoT; OAuth2 with refresh_token_expires_in).
    treatMissingData: NOT_BREACHING,
    runbookSection: "RefreshTokenTtl low",
    describe: (name, threshold) =>
      `The ${name} refresh token expires in less than ${Duration.seconds(threshold).toHumanString()}. IoT logs in again by itself when it runs out, so refreshes have failed for weeks; OAuth2 needs a person to authorize again before it expires.`,
  },
  // Redundant for the scheduled (asynchronous) invocations: each one that errs lands in the
  // dead-letter queue, whose alarm pages. Kept for invocations made by hand (docs/cost.md).
  functionErrors: {
    id: "FunctionErrors",
    period: "schedule",
    optIn: true,
    evaluationPeriods: 1,
    datapointsToAlarm: 1,
    comparisonOperator: AT_LEAST,
    treatMissingData: NOT_BREACHING,
    runbookSection: "Function errors",
    describe: (name) => `The ${name} refresher function threw (bad configuration, a bug, or a timeout). Expected failures do not throw; see the function's log.`,
  },
  // One queue for the schedule target's failed deliveries and the function's failed invocations:
  // any message in it pages, checked every 5 minutes.
  deadLetterQueue: {
    id: "DeadLetterQueueNotEmpty",
    period: Duration.minutes(5),
    evaluationPeriods: 1,
    datapointsToAlarm: 1,
    comparisonOperator: AT_LEAST,
    treatMissingData: NOT_BREACHING,
    runbookSection: "Dead-letter queue not empty",
    describe: (name) =>
      `A ${name} schedule trigger could not be delivered to the refresher function (permissions, throttling or a deleted function), or an invocation failed without returning (an unexpected error, a timeout or a stale trigger). Each message names the error.`,
  },
};

/** CloudWatch's limit on an alarm description. */
const MAX_DESCRIPTION = 1024;

export interface AlarmInputs {
  readonly credentialName: string;
  readonly scheduleInterval: Duration;
  readonly runbookUrl: string;
  /** The enabled alarms and their evaluation. */
  readonly settings: Partial<Record<AlarmKind, AlarmSettings>>;
  /** The metric of each alarm, at any period (the alarm's own is applied). */
  readonly metrics: Record<AlarmKind, cloudwatch.Metric>;
  readonly alarmActions: readonly cloudwatch.IAlarmAction[];
  readonly okActions: readonly cloudwatch.IAlarmAction[];
}

/** The names of the enabled alarms, as {@link addAlarms} creates them (the function's alarm-names setting, docs/configuration.md). */
export function enabledAlarmNames(stackName: string, credentialName: string, settings: Partial<Record<AlarmKind, AlarmSettings>>): string[] {
  return (Object.keys(settings) as AlarmKind[]).map((kind) => alarmName(stackName, credentialName, ALARM_DEFAULTS[kind].id));
}

/**
 * Creates the enabled alarms in `scope`, named `<stack>-<credential>-<Kind>` (stack name + credential
 * name are unique per account and region), each description ending with its runbook link.
 */
export function addAlarms(scope: Construct, inputs: AlarmInputs): Partial<Record<AlarmKind, cloudwatch.Alarm>> {
  const alarms: Partial<Record<AlarmKind, cloudwatch.Alarm>> = {};
  for (const [kind, settings] of Object.entries(inputs.settings) as [AlarmKind, AlarmSettings][]) {
    const definition = ALARM_DEFAULTS[kind];
    const period = definition.period === "schedule" ? inputs.scheduleInterval : definition.period;
    const description = `token-refresher ${inputs.credentialName}: ${definition.describe(inputs.credentialName, settings.threshold)} Runbook: ${inputs.runbookUrl} (section "${definition.runbookSection}")`;
    checkDescription(scope, "TokenRefresher", definition.id, description);
    const alarm = runbookAlarm(scope, inputs.credentialName, { ...definition, ...settings, description, metric: inputs.metrics[kind].with({ period }) });
    alarm.addAlarmAction(...inputs.alarmActions);
    alarm.addOkAction(...inputs.okActions);
    alarms[kind] = alarm;
  }
  return alarms;
}

/** What one alarm evaluates and says. */
export interface RunbookAlarmSpec {
  /** Alarm name suffix and construct id (`<id>Alarm`). */
  readonly id: string;
  /** Ends with its runbook section. */
  readonly description: string;
  /** At the alarm's period. */
  readonly metric: cloudwatch.IMetric;
  readonly threshold: number;
  readonly comparisonOperator: cloudwatch.ComparisonOperator;
  readonly evaluationPeriods: number;
  readonly datapointsToAlarm: number;
  readonly treatMissingData: cloudwatch.TreatMissingData;
}

/** An alarm named `<stack>-<subject>-<id>` (a credential's or a fleet's; unique per account and region). */
export function runbookAlarm(scope: Construct, subject: string, spec: RunbookAlarmSpec): cloudwatch.Alarm {
  return new cloudwatch.Alarm(scope, `${spec.id}Alarm`, {
    alarmName: alarmName(Stack.of(scope).stackName, subject, spec.id),
    alarmDescription: spec.description,
    metric: spec.metric,
    threshold: spec.threshold,
    comparisonOperator: spec.comparisonOperator,
    evaluationPeriods: spec.evaluationPeriods,
    // Left out for a single period, where it can only be 1.
    datapointsToAlarm: spec.evaluationPeriods === 1 ? undefined : spec.datapointsToAlarm,
    treatMissingData: spec.treatMissingData,
  });
}

/** Fails the construct (`TokenRefresher`, `TokenRefresherFleet`) when a description is longer than CloudWatch allows. */
export function checkDescription(scope: Construct, construct: string, id: string, description: string): void {
  if (description.length > MAX_DESCRIPTION) {
    throw new Error(`${construct} ${scope.node.path}: runbookUrl makes the ${id} alarm description longer than CloudWatch's ${MAX_DESCRIPTION} characters`);
  }
}
