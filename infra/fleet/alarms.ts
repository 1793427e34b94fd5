import { Duration } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import type { Construct } from "constructs";
import { checkDescription, runbookAlarm } from "../token-refresher/alarms.js";
import type { FleetAlarmSettings } from "./validate.js";

/** The fleet's alarms (keys of the `alarms` prop). */
export type FleetAlarmKind = "refreshFailed" | "overdue" | "schedulerHeartbeat" | "workerErrors" | "deadLetterQueue";

interface FleetAlarmDefinition {
  /** Alarm name suffix and construct id (`<id>Alarm`); `Fleet…`, so never the same as a dedicated refresher's of the same name. */
  readonly id: string;
  readonly period: Duration;
  readonly evaluationPeriods: number;
  readonly datapointsToAlarm: number;
  readonly threshold: number;
  readonly comparisonOperator: cloudwatch.ComparisonOperator;
  readonly treatMissingData: cloudwatch.TreatMissingData;
  /** The longest evaluation window CloudWatch accepts for the alarm, when shorter than a day. */
  readonly window?: { readonly seconds: number; readonly text: string };
  /** The docs/fleet.md runbook section the description points to. */
  readonly runbookSection: string;
  readonly describe: (fleetName: string, alarm: FleetAlarmSettings) => string;
}

const AT_LEAST = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD;
const NOT_BREACHING = cloudwatch.TreatMissingData.NOT_BREACHING;
const FIVE_MINUTES = Duration.minutes(5);
/** Over how many periods of how long, e.g. "1 hour" or "3 periods of 5 minutes". */
const windowOf = (alarm: FleetAlarmSettings) =>
  alarm.evaluationPeriods === 1 ? alarm.period.toHumanString() : `${alarm.datapointsToAlarm} of ${alarm.evaluationPeriods} periods of ${alarm.period.toHumanString()}`;

/**
 * Pages when a count, checked every 5 minutes, reaches one (missing data is not breaching: no report
 * is the heartbeat's business, no error or message is fine).
 */
const firstCount = (id: string, runbookSection: string, describe: FleetAlarmDefinition["describe"]): FleetAlarmDefinition => ({
  id,
  period: FIVE_MINUTES,
  evaluationPeriods: 1,
  datapointsToAlarm: 1,
  threshold: 1,
  comparisonOperator: AT_LEAST,
  treatMissingData: NOT_BREACHING,
  runbookSection,
  describe,
});

/** Every fleet alarm's defaults; docs/fleet.md, "Alarms", lists the same. */
export const FLEET_ALARMS: Record<FleetAlarmKind, FleetAlarmDefinition> = {
  refreshFailed: {
    id: "FleetRefreshFailed",
    // A failing credential is retried after a backoff, not every minute: one hour sees two tries of it.
    period: Duration.hours(1),
    evaluationPeriods: 1,
    datapointsToAlarm: 1,
    threshold: 2,
    comparisonOperator: AT_LEAST,
    treatMissingData: NOT_BREACHING,
    window: { seconds: 3 * 3_600, text: "3 hours (a Metrics Insights alarm evaluates the latest 3 hours only)" },
    runbookSection: "Fleet: RefreshFailed",
    describe: (fleet, alarm) =>
      `Runs of one credential of the ${fleet} fleet failed ${alarm.threshold} times or more in ${windowOf(alarm)}. Each such credential is a contributor of this alarm: its notification names it (Credential=...); its "Token Refresh Failed" events and the worker's log lines carry the error.`,
  },
  overdue: firstCount(
    "FleetOverdue",
    "Fleet: Overdue",
    (fleet) =>
      `The ${fleet} fleet's scheduler found credentials that no run refreshed and whose access token runs out soon (OverdueCredentials). A "Token Refresh Overdue" page names each one; consumers will get 401s.`,
  ),
  schedulerHeartbeat: {
    id: "FleetSchedulerHeartbeat",
    period: FIVE_MINUTES,
    evaluationPeriods: 1,
    datapointsToAlarm: 1,
    // Fewer than one scheduler report in the period; no report at all is the point (dead-man's switch).
    threshold: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
    treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    runbookSection: "Fleet: Scheduler heartbeat missing",
    describe: (fleet, alarm) =>
      `The ${fleet} fleet's scheduler reported nothing for ${windowOf(alarm)}: due credentials are not enqueued and overdue ones are not detected, so nothing else pages until tokens expire.`,
  },
  workerErrors: firstCount(
    "FleetWorkerErrors",
    "Fleet: Worker errors",
    (fleet) =>
      `The ${fleet} fleet's worker function threw or timed out (bad configuration, a bug, a denied AssumeRole). Expected refresh failures do not throw; see the worker's log.`,
  ),
  deadLetterQueue: firstCount(
    "FleetDeadLetterQueueNotEmpty",
    "Fleet: Dead-letter queue not empty",
    (fleet) =>
      `Messages of the ${fleet} fleet's work queue were received ${WORK_QUEUE_MAX_RECEIVES} times without being processed and moved to its dead-letter queue. Each names a credential; the scheduler enqueues it again while it is due.`,
  ),
};

/** Receives of a work-queue message before SQS moves it to the dead-letter queue. */
export const WORK_QUEUE_MAX_RECEIVES = 5;

export interface FleetAlarmInputs {
  readonly fleetName: string;
  readonly runbookUrl: string;
  /** The enabled alarms and their evaluation. */
  readonly settings: Partial<Record<FleetAlarmKind, FleetAlarmSettings>>;
  /** The metric of each alarm, at any period (the alarm's own is applied). */
  readonly metrics: Record<FleetAlarmKind, cloudwatch.Metric | cloudwatch.MathExpression>;
  readonly actions: readonly cloudwatch.IAlarmAction[];
}

/** Creates the enabled alarms, named `<stack>-<fleet>-<Id>`, each description ending with its runbook section; ALARM and OK notify `actions`. */
export function addFleetAlarms(scope: Construct, inputs: FleetAlarmInputs): Partial<Record<FleetAlarmKind, cloudwatch.Alarm>> {
  const alarms: Partial<Record<FleetAlarmKind, cloudwatch.Alarm>> = {};
  for (const [kind, settings] of Object.entries(inputs.settings) as [FleetAlarmKind, FleetAlarmSettings][]) {
    const definition = FLEET_ALARMS[kind];
    const description = `token-refresher fleet ${inputs.fleetName}: ${definition.describe(inputs.fleetName, settings)} Runbook: ${inputs.runbookUrl} (section "${definition.runbookSection}")`;
    checkDescription(scope, "TokenRefresherFleet", definition.id, description);
    const alarm = runbookAlarm(scope, inputs.fleetName, { ...definition, ...settings, description, metric: inputs.metrics[kind].with({ period: settings.period }) });
    alarm.addAlarmAction(...inputs.actions);
    alarm.addOkAction(...inputs.actions);
    alarms[kind] = alarm;
  }
  return alarms;
}
