import { PutEventsCommand, type EventBridgeClient, type PutEventsRequestEntry } from "@aws-sdk/client-eventbridge";
import type { RuntimeSettings } from "../config/index.js";
import type { ErrorKind, FailureOutcome } from "../errors.js";
import { cleanErrorCode, cleanText } from "../redaction.js";
import { DIMENSION, EVENT_FAILED, EVENT_OVERDUE, EVENT_REFRESHED, EVENT_SOURCE, FLEET_DIMENSION, FLEET_METRIC, METRIC } from "./names.js";

export type RunOutcome = "Refreshed" | "Skipped" | FailureOutcome;

/** What one refresh run did: the single source of its metrics, log line and event. Never holds a token. */
export interface RefreshResult {
  readonly credential: string;
  /** The Lambda request id, so a failure-queue record or an event can be matched to this line. */
  readonly requestId?: string;
  /** The first invocation in this execution environment. */
  readonly coldStart?: boolean;
  readonly outcome: RunOutcome;
  /** Why, in a word: refreshed, logged-in, completed-pending, not-due, busy, superseded, or the error class. */
  readonly reason: string;
  /** HTTP attempts made against the token API. */
  readonly apiCalls: number;
  readonly durationMs: number;
  readonly tokenSecretArn?: string;
  readonly versionId?: string;
  readonly expiresAt?: string;
  /** When the stored pair becomes due (the decision's rule, AWS's clock); absent with a stored pair that is due at once. */
  readonly dueAt?: string;
  /** Seconds of validity left on the access token stored after the run, when known. */
  readonly ttlSeconds?: number;
  /** Seconds of validity left on the stored refresh token, when its lifetime is known. */
  readonly refreshTokenTtlSeconds?: number;
  readonly httpStatus?: number;
  readonly errorCode?: string;
  /** Set on every failed run: what the failure asks of an operator (the CLI's exit code comes from it). */
  readonly errorKind?: ErrorKind;
  readonly message?: string;
  /** Set while a failing credential backs off: the run called nothing and repeats the last failure. */
  readonly backoffUntil?: string;
}

/** What a fleet's scheduler did in one minute (lambda/fleet/scheduler.ts). */
export interface ScheduleSummary {
  /** Active credentials whose next due time has come. */
  readonly due: number;
  /** Sent to the work queue this minute. */
  readonly enqueued: number;
  /** Due and free to run, left for the next minute by the write budget. */
  readonly deferred: number;
  /** Due but held: a run in flight, or backing off after a failure. */
  readonly held: number;
  /** Late for their run with the stored access token about to expire (or never refreshed). */
  readonly overdue: readonly OverdueCredential[];
  readonly durationMs: number;
}

/** An overdue credential, as its `Token Refresh Overdue` event names it. */
export interface OverdueCredential {
  readonly credential: string;
  /** Epoch ms the stored access token expires, when known. */
  readonly expiresAt?: number;
  /** Epoch ms since when it has been due. */
  readonly dueSince: number;
  readonly lastOutcome?: string;
  readonly lastReason?: string;
  readonly lastRunAt?: number;
}

/** EventBridge takes at most this many entries per PutEvents. */
const EVENTS_PER_CALL = 10;
/** The scheduler's log line names at most this many overdue credentials (the metric counts them all). */
const OVERDUE_NAMES_IN_LINE = 100;

export interface TelemetryOptions {
  readonly namespace: string;
  /** Bus name or ARN; empty disables events. */
  readonly eventBusName: string;
  readonly events: EventBridgeClient;
  /** Where the EMF log line goes; stdout in Lambda, where CloudWatch extracts the metrics. */
  readonly write?: (line: string) => void;
  /** Which metrics the line declares (docs/cost.md); default: all of them, per credential. */
  readonly metrics?: MetricPolicy;
}

/**
 * Which of a run's values become CloudWatch metrics: each metric costs for every hour it is sent, so
 * only what an alarm or a dashboard reads is declared. The log line carries every value either way.
 */
export interface MetricPolicy {
  /**
   * The run-count and duration metrics (`RefreshSucceeded`, `RefreshSkipped`, `RefreshDuration`), and
   * the failure counts as zeros on healthy runs. Off: a failure count is sent only as a 1, which the
   * alarms (missing data is not breaching) read the same.
   */
  readonly detailed: boolean;
  /** Send `RefreshTokenTtl` only while less than this many seconds are left; undefined: always. */
  readonly refreshTokenTtlReportBelowSeconds?: number;
  /**
   * A fleet (docs/fleet.md): counts, duration and the access token's remaining time go out with
   * dimension `Fleet` only, and failure outcomes with `Fleet, Credential` only on a failed run, so a
   * healthy credential costs no metric.
   */
  readonly fleetName?: string;
}

const FAILURE_METRICS: readonly string[] = [METRIC.failed, METRIC.credentialRejected, METRIC.appFrozen, METRIC.pairDiscarded];
const RUN_COUNT_METRICS: readonly string[] = [METRIC.succeeded, METRIC.skipped, METRIC.duration];

/**
 * Reports a run: one JSON line on stdout that is both the structured log line and a CloudWatch
 * Embedded Metric Format document (dimension `Credential`, or `Fleet` in a fleet; see MetricPolicy),
 * and an EventBridge event.
 */
export class Telemetry {
  private readonly write: (line: string) => void;
  private readonly policy: MetricPolicy;

  /** The telemetry a run with these runtime settings reports through (the Lambda, the CLI, `npm start`, a fleet's worker). */
  static forRuntime(
    runtime: Pick<RuntimeSettings, "metricsNamespace" | "eventBusName" | "detailedMetrics" | "refreshTokenTtlReportBelowSeconds">,
    events: EventBridgeClient,
    options: Pick<TelemetryOptions, "write"> & Pick<MetricPolicy, "fleetName"> = {},
  ): Telemetry {
    return new Telemetry({
      namespace: runtime.metricsNamespace,
      eventBusName: runtime.eventBusName,
      events,
      ...(options.write && { write: options.write }),
      metrics: {
        detailed: runtime.detailedMetrics,
        ...(runtime.refreshTokenTtlReportBelowSeconds !== undefined && { refreshTokenTtlReportBelowSeconds: runtime.refreshTokenTtlReportBelowSeconds }),
        ...(options.fleetName !== undefined && { fleetName: options.fleetName }),
      },
    });
  }

  constructor(private readonly options: TelemetryOptions) {
    this.write = options.write ?? ((line) => process.stdout.write(line));
    this.policy = options.metrics ?? { detailed: true };
  }

  /** Writes the line, then publishes the event; `signal` ends a publish that would outlast the invocation. */
  async report(result: RefreshResult, now: Date = new Date(), signal?: AbortSignal): Promise<void> {
    const quoted = quotable(result);
    this.write(`${JSON.stringify(this.emfLine(quoted, now))}\n`);
    await this.publish(quoted, signal);
  }

  emfLine(result: RefreshResult, now: Date): Record<string, unknown> {
    const failed = result.outcome !== "Refreshed" && result.outcome !== "Skipped";
    const values: Record<string, number> = {
      [METRIC.succeeded]: result.outcome === "Refreshed" ? 1 : 0,
      [METRIC.skipped]: result.outcome === "Skipped" ? 1 : 0,
      [METRIC.failed]: failed ? 1 : 0,
      [METRIC.credentialRejected]: result.outcome === "CredentialRejected" ? 1 : 0,
      [METRIC.appFrozen]: result.outcome === "AppFrozen" ? 1 : 0,
      [METRIC.pairDiscarded]: result.outcome === "PairDiscarded" ? 1 : 0,
      [METRIC.duration]: result.durationMs,
    };
    // A missing AccessTokenTtl is itself a signal (the dead-man's switch alarm treats it as breaching).
    if (result.ttlSeconds !== undefined) values[METRIC.accessTokenTtl] = result.ttlSeconds;
    if (result.refreshTokenTtlSeconds !== undefined) values[METRIC.refreshTokenTtl] = result.refreshTokenTtlSeconds;
    const seconds: readonly string[] = [METRIC.accessTokenTtl, METRIC.refreshTokenTtl];
    const unit = (name: string) => (name === METRIC.duration ? "Milliseconds" : seconds.includes(name) ? "Seconds" : "Count");
    const declare = (names: readonly string[], dimensions: readonly string[]) => ({
      Namespace: this.options.namespace,
      Dimensions: [dimensions],
      Metrics: names.map((name) => ({ Name: name, Unit: unit(name) })),
    });
    const { fleetName } = this.policy;
    const directives = fleetName === undefined ? [declare(this.credentialMetrics(values), [DIMENSION])] : this.fleetDirectives(values, declare);
    return {
      _aws: { Timestamp: now.getTime(), CloudWatchMetrics: directives.filter((directive) => directive.Metrics.length > 0) },
      level: failed ? "ERROR" : "INFO",
      message: `refresh run: ${result.outcome} (${result.reason})`,
      [DIMENSION]: result.credential,
      ...(fleetName !== undefined && { [FLEET_DIMENSION]: fleetName }),
      ...result,
      ...values,
    };
  }

  /** The metrics a dedicated refresher declares, dimension `Credential`, under the policy. */
  private credentialMetrics(values: Readonly<Record<string, number>>): string[] {
    const { detailed, refreshTokenTtlReportBelowSeconds: horizon } = this.policy;
    return Object.keys(values).filter((name) => {
      if (name === METRIC.refreshTokenTtl) return horizon === undefined || values[name]! < horizon;
      if (FAILURE_METRICS.includes(name)) return detailed || values[name] !== 0;
      return !RUN_COUNT_METRICS.includes(name) || detailed;
    });
  }

  /** A fleet's two declarations: aggregates per fleet, failures per credential only when they happened. */
  private fleetDirectives<T>(values: Readonly<Record<string, number>>, declare: (names: readonly string[], dimensions: readonly string[]) => T): T[] {
    const aggregate = Object.keys(values).filter((name) => name !== METRIC.refreshTokenTtl);
    const failures = FAILURE_METRICS.filter((name) => values[name] === 1);
    return [declare(aggregate, [FLEET_DIMENSION]), declare(failures, [FLEET_DIMENSION, DIMENSION])];
  }

  private async publish(result: RefreshResult, signal: AbortSignal | undefined): Promise<void> {
    // A backoff tick repeats a failure already announced; its metrics keep the alarms in ALARM.
    if (!this.options.eventBusName || result.outcome === "Skipped" || result.backoffUntil) return;
    // A fleet's events name it: its paging rules route only its own (docs/fleet.md).
    const fleet = this.policy.fleetName === undefined ? {} : { fleet: this.policy.fleetName };
    const detail =
      result.outcome === "Refreshed"
        ? { ...fleet, credential: result.credential, tokenSecretArn: result.tokenSecretArn, versionId: result.versionId, expiresAt: result.expiresAt }
        : {
            ...fleet,
            credential: result.credential,
            ...(result.requestId && { requestId: result.requestId }),
            outcome: result.outcome,
            httpStatus: result.httpStatus ?? null,
            errorCode: result.errorCode ?? null,
            message: result.message ?? result.reason,
          };
    // The tokens are already stored; a lost event must not turn the run into a failure.
    await this.putEvents([{ DetailType: result.outcome === "Refreshed" ? EVENT_REFRESHED : EVENT_FAILED, Detail: JSON.stringify(detail) }], signal, {
      message: "could not publish the refresh event",
      credential: result.credential,
    });
  }

  /**
   * A fleet scheduler's minute: one EMF line (dimension `Fleet`: due, enqueued, deferred, overdue,
   * every minute, so a missing line is the scheduler's own dead-man's switch), then a
   * `Token Refresh Overdue` event for each credential in `announce` (those that just became overdue).
   */
  async reportSchedule(summary: ScheduleSummary, announce: readonly OverdueCredential[], now: Date, signal?: AbortSignal): Promise<void> {
    const fleetName = this.policy.fleetName;
    if (fleetName === undefined) throw new Error("reportSchedule needs the telemetry of a fleet (fleetName)");
    const values = {
      [FLEET_METRIC.due]: summary.due,
      [FLEET_METRIC.enqueued]: summary.enqueued,
      [FLEET_METRIC.deferred]: summary.deferred,
      [FLEET_METRIC.overdue]: summary.overdue.length,
    };
    const line = {
      _aws: {
        Timestamp: now.getTime(),
        CloudWatchMetrics: [{ Namespace: this.options.namespace, Dimensions: [[FLEET_DIMENSION]], Metrics: Object.keys(values).map((name) => ({ Name: name, Unit: "Count" })) }],
      },
      level: summary.overdue.length > 0 ? "WARN" : "INFO",
      message: `fleet schedule: ${summary.due} due, ${summary.enqueued} enqueued, ${summary.deferred} deferred, ${summary.held} held, ${summary.overdue.length} overdue`,
      [FLEET_DIMENSION]: fleetName,
      ...values,
      held: summary.held,
      durationMs: summary.durationMs,
      ...(summary.overdue.length > 0 && { overdueCredentials: summary.overdue.slice(0, OVERDUE_NAMES_IN_LINE).map((item) => item.credential) }),
    };
    this.write(`${JSON.stringify(line)}\n`);
    if (!this.options.eventBusName) return;
    // The paging rule quotes `expiresAt` and `lastOutcome` into its message: `none` where there is none yet.
    const iso = (epochMs: number | undefined) => (epochMs === undefined ? "none" : new Date(epochMs).toISOString());
    const entries = announce.map((item) => ({
      DetailType: EVENT_OVERDUE,
      Detail: JSON.stringify({
        fleet: fleetName,
        credential: item.credential,
        expiresAt: iso(item.expiresAt),
        lastOutcome: item.lastOutcome ?? "none",
        lastReason: item.lastReason ?? "none",
        lastRunAt: iso(item.lastRunAt),
        dueSince: iso(item.dueSince),
      }),
    }));
    for (let start = 0; start < entries.length; start += EVENTS_PER_CALL) {
      await this.putEvents(entries.slice(start, start + EVENTS_PER_CALL), signal, { message: "could not publish overdue events", fleet: fleetName });
    }
  }

  /** Publishes entries from `token-refresher` to the bus; a failure is logged as a warning (`context` says which), never thrown. */
  private async putEvents(entries: readonly Pick<PutEventsRequestEntry, "DetailType" | "Detail">[], signal: AbortSignal | undefined, context: Record<string, string>): Promise<void> {
    try {
      const answer = await this.options.events.send(
        new PutEventsCommand({ Entries: entries.map((entry) => ({ ...entry, EventBusName: this.options.eventBusName, Source: EVENT_SOURCE })) }),
        { abortSignal: signal },
      );
      if (answer.FailedEntryCount) throw new Error(answer.Entries?.find((entry) => entry.ErrorCode)?.ErrorCode ?? "entry failed");
    } catch (error) {
      const reason = cleanText(error instanceof Error ? error.name + ": " + error.message : String(error));
      console.warn(JSON.stringify({ level: "WARN", ...context, reason }));
    }
  }
}

/**
 * The result with its platform and exception texts through the redaction step once more before
 * they are written (docs/security.md, "Beyond IAM"): one line, bounded, no control characters, and an
 * error code only when it is a short word. The dialects and describeError have already removed secrets.
 */
function quotable(result: RefreshResult): RefreshResult {
  return { ...result, reason: cleanText(result.reason, 100) ?? "unknown", message: cleanText(result.message), errorCode: cleanErrorCode(result.errorCode) };
}
