import type { Duration } from "aws-cdk-lib";
import type * as events from "aws-cdk-lib/aws-events";
import type * as sns from "aws-cdk-lib/aws-sns";
import type { TokenRefresherProps } from "../token-refresher/props.js";

/** Where every fleet alarm description points unless `runbookUrl` says otherwise: the fleet's runbook sections. */
export const DEFAULT_FLEET_RUNBOOK_URL = "token-refresher docs/fleet.md";

/** Settings every fleet alarm accepts (defaults: docs/fleet.md, "Alarms"). */
export interface FleetAlarmOptions {
  /**
   * Create this alarm.
   * @default true
   */
  readonly enabled?: boolean;
  /**
   * Length of one evaluation period, in whole minutes.
   * @default - the alarm's own (docs/fleet.md, "Alarms")
   */
  readonly period?: Duration;
  /**
   * Periods the alarm evaluates.
   * @default - the alarm's own (docs/fleet.md, "Alarms")
   */
  readonly evaluationPeriods?: number;
  /**
   * Breaching periods among `evaluationPeriods` that raise the alarm.
   * @default - the alarm's own (docs/fleet.md, "Alarms")
   */
  readonly datapointsToAlarm?: number;
}

/** An alarm on a count (failed runs, overdue credentials, errors, messages): alarms when the count reaches the threshold. */
export interface FleetCountAlarmOptions extends FleetAlarmOptions {
  /**
   * Count per period at or above which the alarm fires.
   * @default - the alarm's own (docs/fleet.md, "Alarms")
   */
  readonly threshold?: number;
}

/** The fleet's alarms; each exists unless switched off with `enabled: false`. */
export interface TokenRefresherFleetAlarms {
  /**
   * Failed runs of one credential (Metrics Insights, `GROUP BY Credential`; each credential is a
   * contributor, named in the notification). Period × evaluation periods at most 3 hours.
   */
  readonly refreshFailed?: FleetCountAlarmOptions;
  /** Credentials the scheduler found overdue (the registry's dead-man's switch). */
  readonly overdue?: FleetCountAlarmOptions;
  /** The scheduler stopped reporting (missing data is breaching): nobody is looking for due or overdue credentials. */
  readonly schedulerHeartbeat?: FleetAlarmOptions;
  /** The worker function threw or timed out (`AWS/Lambda` Errors). */
  readonly workerErrors?: FleetCountAlarmOptions;
  /** The work queue's dead-letter queue holds a message. */
  readonly deadLetterQueue?: FleetCountAlarmOptions;
}

/**
 * The fleet's props. Those it shares with {@link TokenRefresherProps} mean the same for the worker:
 * `httpTimeout`, `memorySize` (the worker's), `logRetention` (both functions' log groups),
 * `metricsNamespace`, `stateTable`, `alarmEmail`.
 */
export interface TokenRefresherFleetProps
  extends Pick<TokenRefresherProps, "httpTimeout" | "memorySize" | "logRetention" | "metricsNamespace" | "stateTable" | "alarmEmail"> {
  /**
   * Name of the fleet: the `Fleet` metric dimension, the `fleet` field of its events, the
   * `TokenRefresherFleet` tag of its secrets and part of its secrets', alarms' and rule's names.
   * Letters, digits, `_`, `.`, `-`; 1–64 characters; unique per stack.
   */
  readonly fleetName: string;

  /**
   * Prefix of the names of the secrets `token-refresher fleet add` creates:
   * `<prefix><fleetName>/<credential>/client` and `/token`. The run role reaches only secrets under
   * `<prefix><fleetName>/`.
   * @default "token-refresher/"
   */
  readonly secretNamePrefix?: string;

  /**
   * Secrets Manager writes per second the fleet may use of the region's 50 (`PutSecretValue` and
   * `UpdateSecretVersionStage` together, shared with every other application of the account).
   * @default 20
   */
  readonly writeBudgetPerSecond?: number;

  /**
   * A credential whose stored access token has less than this left, and that no run refreshed, is
   * overdue: the scheduler publishes `Token Refresh Overdue` for it and counts it in `OverdueCredentials`.
   * @default Duration.minutes(10)
   */
  readonly overdueThreshold?: Duration;

  /**
   * Most worker invocations at once (the SQS event source's `MaximumConcurrency`, 2–1000); each
   * invocation runs one credential's refresh.
   * @default 10
   */
  readonly workerConcurrency?: number;

  /**
   * The worker's Lambda timeout, split as the dedicated refresher's (docs/configuration.md,
   * `timeoutSeconds`): run budget = timeout − 15 s, lease = timeout + 60 s. The work queue's
   * visibility timeout is six times it.
   * @default Duration.seconds(40)
   */
  readonly timeout?: Duration;

  /**
   * Event bus for `Token Refreshed`, `Token Refresh Failed` and `Token Refresh Overdue` (source
   * `token-refresher`, `detail.fleet` = the fleet's name); the paging rules live on it.
   * @default - the account's default event bus
   */
  readonly eventBus?: events.IEventBus;

  /**
   * IAM role or user ARNs (wildcards within one path segment, docs/security.md) that `fleet add`
   * lets through the resource policies of the secrets it creates, besides the run role: who may
   * read client secrets and write token secrets. Carried in the functions' environment for the CLI.
   * @default - none: only the run role
   */
  readonly operatorPrincipalArns?: string[];

  /**
   * SNS topic for every alarm (ALARM and OK) and every paging event. Pass your on-call topic; an
   * imported topic must let `events.amazonaws.com` publish (docs/fleet.md, "Paging").
   * @default - the stack's token-refresher alarm topic, shared with every TokenRefresher in it
   */
  readonly alarmTopic?: sns.ITopic;

  /**
   * Runbook every alarm description and paging message links to, followed by its section name.
   * No `<` or `>`: the paging messages are EventBridge input templates.
   * @default DEFAULT_FLEET_RUNBOOK_URL
   */
  readonly runbookUrl?: string;

  /**
   * Switch single alarms off, or change their threshold and evaluation.
   * @default - every alarm, with the settings in docs/fleet.md, "Alarms"
   */
  readonly alarms?: TokenRefresherFleetAlarms;
}
