import { PutEventsCommand, type EventBridgeClient } from "@aws-sdk/client-eventbridge";
import type { ErrorKind, FailureOutcome } from "../errors.js";
import { cleanErrorCode, cleanText } from "../redaction.js";
import { DIMENSION, EVENT_FAILED, EVENT_REFRESHED, EVENT_SOURCE, METRIC } from "./names.js";

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

export interface TelemetryOptions {
  readonly namespace: string;
  /** Bus name or ARN; empty disables events. */
  readonly eventBusName: string;
  readonly events: EventBridgeClient;
  /** Where the EMF log line goes; stdout in Lambda, where CloudWatch extracts the metrics. */
  readonly write?: (line: string) => void;
}

/**
 * Reports a run: one JSON line on stdout that is both the structured log line and a CloudWatch
 * Embedded Metric Format document (dimension `Credential` only), and an EventBridge event.
 */
export class Telemetry {
  private readonly write: (line: string) => void;

  constructor(private readonly options: TelemetryOptions) {
    this.write = options.write ?? ((line) => process.stdout.write(line));
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
    return {
      _aws: {
        Timestamp: now.getTime(),
        CloudWatchMetrics: [
          {
            Namespace: this.options.namespace,
            Dimensions: [[DIMENSION]],
            Metrics: Object.keys(values).map((name) => ({ Name: name, Unit: unit(name) })),
          },
        ],
      },
      level: failed ? "ERROR" : "INFO",
      message: `refresh run: ${result.outcome} (${result.reason})`,
      [DIMENSION]: result.credential,
      ...result,
      ...values,
    };
  }

  private async publish(result: RefreshResult, signal: AbortSignal | undefined): Promise<void> {
    // A backoff tick repeats a failure already announced; its metrics keep the alarms in ALARM.
    if (!this.options.eventBusName || result.outcome === "Skipped" || result.backoffUntil) return;
    const detail =
      result.outcome === "Refreshed"
        ? { credential: result.credential, tokenSecretArn: result.tokenSecretArn, versionId: result.versionId, expiresAt: result.expiresAt }
        : {
            credential: result.credential,
            ...(result.requestId && { requestId: result.requestId }),
            outcome: result.outcome,
            httpStatus: result.httpStatus ?? null,
            errorCode: result.errorCode ?? null,
            message: result.message ?? result.reason,
          };
    try {
      const answer = await this.options.events.send(
        new PutEventsCommand({
          Entries: [
            {
              EventBusName: this.options.eventBusName,
              Source: EVENT_SOURCE,
              DetailType: result.outcome === "Refreshed" ? EVENT_REFRESHED : EVENT_FAILED,
              Detail: JSON.stringify(detail),
            },
          ],
        }),
        { abortSignal: signal },
      );
      if (answer.FailedEntryCount) throw new Error(answer.Entries?.[0]?.ErrorCode ?? "entry failed");
    } catch (error) {
      // The tokens are already stored; a lost event must not turn the run into a failure.
      const reason = cleanText(error instanceof Error ? error.name + ": " + error.message : String(error));
      console.warn(JSON.stringify({ level: "WARN", message: "could not publish the refresh event", credential: result.credential, reason }));
    }
  }
}

/**
 * The result with its platform and exception texts through the redaction step once more before
 * they are written (README, "Security model"): one line, bounded, no control characters, and an
 * error code only when it is a short word. The dialects and describeError have already removed secrets.
 */
function quotable(result: RefreshResult): RefreshResult {
  return { ...result, reason: cleanText(result.reason, 100) ?? "unknown", message: cleanText(result.message), errorCode: cleanErrorCode(result.errorCode) };
}
