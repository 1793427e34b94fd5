// The fleet's worker (docs/fleet.md): one refresh run per work-queue message, each under a session of
// the run role tagged with the message's credential, so the run can touch only that credential's
// secrets and items. The run is the dedicated refresher's (`runRefresh`, the write protocol, its
// lease); the worker adds the write budget before it and the registry record after it, both taken
// with the session's credentials: the worker's own reach nothing but STS.
import { AssumeRoleCommand, type STSClient } from "@aws-sdk/client-sts";
import type { SQSBatchItemFailure, SQSEvent, SQSRecord } from "aws-lambda";
import { createAwsClients, type AwsClientSettings } from "../aws-clients.js";
import type { AwsClock } from "../clock.js";
import { settingProblems, type FleetSettings, type RuntimeSettings } from "../config/index.js";
import { ConfigError, describeError, errorKindOf } from "../errors.js";
import { runRefresh, type Invocation, type RefreshDeps } from "../refresh/workflow.js";
import { Telemetry, type RefreshResult } from "../telemetry/telemetry.js";
import { WriteBudget } from "./budget.js";
import { Registry, specOf, type RegistryItem, type RunRecord } from "./registry.js";
import { FLEET_TAG, WRITE_GRACE_MS } from "../settings.js";
import { WRITES_PER_REFRESH, type WorkMessage } from "./schema.js";

/** The run role's session: the shortest STS allows, longer than any run (run budget ≤ 10 min + the write reserve). */
export const RUN_SESSION_SECONDS = 900;
/** After a failed run, the credential is enqueued again no sooner than this: the dedicated refresher's schedule interval. */
export const FAILURE_RETRY_MS = 5 * 60 * 1000;
/** After a run found another holding the lease, the credential is looked at again after one schedule period. */
export const BUSY_RETRY_MS = 60 * 1000;
/** The longest a message waits for the write budget within an invocation; then it goes back to the queue. */
export const MAX_BUDGET_WAIT_MS = 20 * 1000;

/** The settings the worker uses. */
export type WorkerSettings = Pick<FleetSettings, "fleetName" | "registryTableName" | "writeBudgetPerSecond"> & { readonly runRoleArn: string };

export interface WorkerDeps {
  readonly fleet: WorkerSettings;
  readonly runtime: RuntimeSettings;
  /** STS with the worker's own credentials: it may only assume the run role (with the session tag). */
  readonly sts: STSClient;
  /** AWS's time, shared by every run of this execution environment. */
  readonly clock: AwsClock;
  /** Region and endpoint of the clients each run builds with its session's credentials (default: the environment's). */
  readonly aws?: Omit<AwsClientSettings, "credentials">;
  /** Where the worker's and the runs' log lines go; stdout in Lambda. */
  readonly write?: (line: string) => void;
  /** Passed to every run and its wait for the write budget (tests: fast retries, a host clock). */
  readonly run?: Pick<RefreshDeps, "localNow" | "sleep" | "random" | "retryPolicy" | "createDialect">;
}

/** What became of one message. `failed` ones are returned to the queue (`batchItemFailures`). */
export type RecordOutcome =
  | { readonly kind: "ran"; readonly messageId: string; readonly credential: string; readonly result: RefreshResult }
  | { readonly kind: "dropped"; readonly messageId: string; readonly credential: string; readonly reason: "not-registered" | "paused" | "removing" }
  | { readonly kind: "failed"; readonly messageId: string; readonly credential?: string; readonly error: unknown };

/** A work-queue message that names no credential. */
export class MalformedMessageError extends Error {
  override readonly name = "MalformedMessageError";
  constructor(readonly problem: string) {
    super(`work-queue message ${problem}`);
  }
}

/** The write budget stayed spent for as long as the invocation could wait: the message goes back to the queue. */
export class WriteBudgetExhaustedError extends Error {
  override readonly name = "WriteBudgetExhaustedError";
  constructor(readonly credential: string) {
    super(`no Secrets Manager write budget for ${credential} within the wait; the message returns to the queue`);
  }
}

/** STS answered AssumeRole without credentials. */
export class NoSessionError extends Error {
  override readonly name = "NoSessionError";
  constructor(readonly credential: string) {
    super(`AssumeRole for ${credential} answered without credentials`);
  }
}

/**
 * Handles a batch of work-queue messages, each independently and at once. A run's expected outcomes
 * (refreshed, skipped, rejected, …) are reported by the run itself; only what failed unexpectedly —
 * a malformed message, no write budget, AWS refusing the worker — goes back to the queue, and from
 * there to its dead-letter queue.
 */
export class FleetWorker {
  private readonly write: (line: string) => void;

  constructor(private readonly deps: WorkerDeps) {
    this.write = deps.write ?? ((line) => process.stdout.write(line));
  }

  async handle(event: SQSEvent, invocation: Invocation = {}): Promise<{ batchItemFailures: SQSBatchItemFailure[]; outcomes: RecordOutcome[] }> {
    const outcomes = await Promise.all(event.Records.map((record) => this.process(record, invocation)));
    const batchItemFailures = outcomes.flatMap((outcome) => (outcome.kind === "failed" ? [{ itemIdentifier: outcome.messageId }] : []));
    return { batchItemFailures, outcomes };
  }

  private async process(record: SQSRecord, invocation: Invocation): Promise<RecordOutcome> {
    const { messageId } = record;
    let credential: string | undefined;
    try {
      credential = credentialOf(record.body);
      return await this.runCredential(messageId, credential, invocation);
    } catch (error) {
      this.log("ERROR", "fleet worker: message returned to the queue", { messageId, ...(credential && { credential }), reason: describeError(error), errorKind: errorKindOf(error) });
      return { kind: "failed", messageId, ...(credential && { credential }), error };
    }
  }

  private async runCredential(messageId: string, credential: string, invocation: Invocation): Promise<RecordOutcome> {
    const { deps } = this;
    const session = createAwsClients(deps.runtime.awsRequestTimeoutMs, deps.clock, { ...deps.aws, credentials: await this.assumeRunRole(credential) });
    const registry = new Registry(session.dynamodb, deps.fleet.registryTableName);
    const item = await registry.read(credential);
    if (!item || item.status !== "active") {
      const reason = item ? item.status : "not-registered";
      this.log("INFO", `fleet worker: message dropped (${reason})`, { messageId, credential, reason });
      return { kind: "dropped", messageId, credential, reason: reason as "not-registered" | "paused" | "removing" };
    }
    const budget = new WriteBudget(session.dynamodb, deps.fleet.registryTableName, deps.fleet.writeBudgetPerSecond, deps.clock, deps.run ?? {});
    if (!(await budget.take(WRITES_PER_REFRESH, this.budgetDeadline(invocation)))) throw new WriteBudgetExhaustedError(credential);
    const telemetry = Telemetry.forRuntime(deps.runtime, session.events, { fleetName: deps.fleet.fleetName, write: this.write });
    let result: RefreshResult;
    try {
      const credentialSpec = specOf(item);
      result = await runRefresh({ ...deps.run, runtime: deps.runtime, secrets: session.secrets, dynamodb: session.dynamodb, clock: deps.clock, telemetry, invocation }, credentialSpec);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      // An item edited into an invalid spec: reported like a failed run, and tried again later.
      result = { credential, outcome: "RefreshFailed", reason: error.name, apiCalls: 0, durationMs: 0, errorKind: error.kind, message: describeError(error) };
      await telemetry.report(result, new Date(deps.clock.now()));
    }
    await registry.recordRun(credential, runRecord(item, result, deps.clock.now()));
    return { kind: "ran", messageId, credential, result };
  }

  /** Session credentials of the run role, tagged with the credential (not transitive): what the run's policies compare. */
  private async assumeRunRole(credential: string): Promise<NonNullable<AwsClientSettings["credentials"]>> {
    const answer = await this.deps.sts.send(
      new AssumeRoleCommand({
        RoleArn: this.deps.fleet.runRoleArn,
        RoleSessionName: `tr-${credential}`.slice(0, 64),
        DurationSeconds: RUN_SESSION_SECONDS,
        Tags: [{ Key: FLEET_TAG.credential, Value: credential }],
      }),
    );
    const { AccessKeyId, SecretAccessKey, SessionToken } = answer.Credentials ?? {};
    if (!AccessKeyId || !SecretAccessKey) throw new NoSessionError(credential);
    return { accessKeyId: AccessKeyId, secretAccessKey: SecretAccessKey, ...(SessionToken && { sessionToken: SessionToken }) };
  }

  /** Local epoch ms until which a message may wait for the budget: while the invocation still has room for a whole run. */
  private budgetDeadline(invocation: Invocation): number {
    const now = (this.deps.run?.localNow ?? Date.now)();
    const latest = now + MAX_BUDGET_WAIT_MS;
    return invocation.endsAt === undefined ? latest : Math.min(latest, invocation.endsAt - this.deps.runtime.runBudgetMs - WRITE_GRACE_MS);
  }

  private log(level: "INFO" | "ERROR", message: string, fields: Record<string, unknown>): void {
    this.write(`${JSON.stringify({ level, message, fleet: this.deps.fleet.fleetName, ...fields })}\n`);
  }
}

/** The credential a message names; MalformedMessageError when it names none. */
export function credentialOf(body: string): string {
  let message: unknown;
  try {
    message = JSON.parse(body);
  } catch {
    throw new MalformedMessageError("is not JSON");
  }
  const credential = (message as Partial<WorkMessage> | null)?.credential;
  if (typeof credential !== "string") throw new MalformedMessageError("has no credential");
  const [problem] = settingProblems({ name: credential });
  if (problem) throw new MalformedMessageError(`names no valid credential: name ${problem.problem}`);
  return credential;
}

/**
 * What a run leaves in the registry. Next due time: the decision's own rule on the stored pair
 * (`dueAt`), so the scheduler never enqueues a run that would only find it not due; a stored pair due
 * at once keeps the time it became due. Retry: a backoff's end, FAILURE_RETRY_MS after any other
 * failure, BUSY_RETRY_MS when another run held the lease; none otherwise.
 */
export function runRecord(item: Pick<RegistryItem, "nextDueAt">, result: RefreshResult, now: number): RunRecord {
  const stored =
    result.versionId === undefined
      ? undefined
      : {
          nextDueAt: result.dueAt !== undefined ? Date.parse(result.dueAt) : Math.min(item.nextDueAt, now),
          ...(result.expiresAt !== undefined && { expiresAt: Date.parse(result.expiresAt) }),
        };
  const retryAt = retryTime(result, now);
  return { outcome: result.outcome, reason: result.reason, at: now, ...(stored && { stored }), ...(retryAt !== undefined && { retryAt }) };
}

function retryTime(result: RefreshResult, now: number): number | undefined {
  if (result.backoffUntil) return Date.parse(result.backoffUntil);
  switch (result.outcome) {
    case "Refreshed":
      return undefined;
    case "Skipped":
      return result.reason === "busy" ? now + BUSY_RETRY_MS : result.reason === "paused" ? now + FAILURE_RETRY_MS : undefined;
    default:
      return now + FAILURE_RETRY_MS;
  }
}
