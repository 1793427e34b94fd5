import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { AwsClock } from "../clock.js";
import type { CredentialSpec, RuntimeSettings } from "../config/index.js";
import { createDialect as defaultCreateDialect, type DialectFactory } from "../dialects/index.js";
import type { TokenDialect, TokenGrant } from "../dialects/types.js";
import { NeedsInitialRefreshTokenError, PromotionPendingError, RefreshError, describeError, errorKindOf, outcomeKind } from "../errors.js";
import { decide, dueAt, isDue, type DecisionRules } from "../protocol/decision.js";
import { WriteProtocol, type AttemptRecord, type Lease } from "../protocol/write-protocol.js";
import { Redactor } from "../redaction.js";
import { readClientSecretVersion, type ClientSecretVersion } from "../secrets/client-secret.js";
import { accessTokenSecondsLeft, refreshTokenSecondsLeft, type TokenDocument, type TokenVersion } from "../secrets/token-store.js";
import { WRITE_GRACE_MS, usesRefreshToken } from "../settings.js";
import type { CredentialState } from "../state/state-table.js";
import type { RefreshResult, Telemetry } from "../telemetry/telemetry.js";
import { Deadline } from "./deadline.js";
import { DEFAULT_RETRY_POLICY, withRetry, type RetryPolicy } from "./retry.js";

/** The event's publication ends this long before the invocation must. */
const REPORT_RESERVE_MS = 300;

/** The invocation a run belongs to (the Lambda context, or the CLI's stand-in). */
export interface Invocation {
  readonly requestId?: string;
  readonly coldStart?: boolean;
  /** Local epoch ms the invocation must end by (Lambda: `Date.now() + context.getRemainingTimeInMillis()`). */
  readonly endsAt?: number;
}

export interface RefreshDeps {
  /** The deployment's settings (the state table, the run budget, the lease, timeouts). */
  readonly runtime: RuntimeSettings;
  readonly secrets: SecretsManagerClient;
  readonly dynamodb: DynamoDBClient;
  /** AWS's time, corrected from the answers of `secrets` and `dynamodb` (see lambda/clock.ts). */
  readonly clock: AwsClock;
  readonly telemetry: Telemetry;
  readonly invocation?: Invocation;
  readonly createDialect?: DialectFactory;
  /** The host's clock (tests skew it). */
  readonly localNow?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
  readonly retryPolicy?: RetryPolicy;
  /** Names this run's lease and pair version (tests); a random UUID otherwise. */
  readonly runId?: string;
}

/** The trigger: a schedule's event, or `{"force": true}` to refresh even when not due. */
export interface RefreshEvent {
  readonly force?: boolean;
}

type RunFacts = Omit<RefreshResult, "credential" | "apiCalls" | "durationMs" | "requestId" | "coldStart">;

/**
 * One refresh run (docs/design.md, "How a refresh run works"): read, decide, lease, call, compare-and-swap
 * write, release, report. Never throws for an expected failure: the outcome is in the result, the
 * metrics and the event.
 */
export async function runRefresh(deps: RefreshDeps, credential: CredentialSpec, event: unknown = {}): Promise<RefreshResult> {
  const localNow = deps.localNow ?? Date.now;
  const startedAt = localNow();
  const run = new RefreshRun(deps, credential, localNow, startedAt);
  let facts: RunFacts;
  try {
    facts = await run.execute(isForced(event));
  } catch (error) {
    facts = run.failure(error);
  }
  const result: RefreshResult = {
    credential: credential.name,
    ...(deps.invocation?.requestId && { requestId: deps.invocation.requestId }),
    ...(deps.invocation?.coldStart !== undefined && { coldStart: deps.invocation.coldStart }),
    apiCalls: run.apiCalls,
    durationMs: localNow() - startedAt,
    ...facts,
  };
  await deps.telemetry.report(result, new Date(run.reportTime()), run.reportSignal());
  return result;
}

function isForced(event: unknown): boolean {
  return typeof event === "object" && event !== null && (event as RefreshEvent).force === true;
}

class RefreshRun {
  apiCalls = 0;
  private readonly protocol: WriteProtocol;
  private readonly rules: DecisionRules;
  private readonly deadline: Deadline;
  private readonly runId: string;
  /** Local epoch ms the invocation must end by. */
  private readonly invocationEndsAt: number;
  /** The last version read, so a failure can still report the stored token's remaining lifetime. */
  private lastRead?: TokenVersion;
  /** Every secret value this run has read, removed from exception texts (docs/security.md, "Beyond IAM"). */
  private readonly redactor = new Redactor();

  constructor(
    private readonly deps: RefreshDeps,
    private readonly credential: CredentialSpec,
    private readonly localNow: () => number,
    startedAt: number,
  ) {
    const { runtime } = deps;
    this.runId = deps.runId ?? randomUUID();
    this.invocationEndsAt = deps.invocation?.endsAt ?? startedAt + runtime.runBudgetMs + WRITE_GRACE_MS;
    this.deadline = new Deadline(runtime.runBudgetMs, localNow);
    this.rules = { refreshWindowSeconds: credential.refreshWindowSeconds, usesRefreshToken: usesRefreshToken(credential.dialect) };
    this.protocol = new WriteProtocol(
      { tokenSecretId: credential.tokenSecretId, stateTableName: runtime.stateTableName, credentialName: credential.name },
      deps,
      deps.clock,
      {
        leaseMs: runtime.leaseSeconds * 1000,
        invocationEndsAt: this.invocationEndsAt,
        localNow,
        ...(deps.sleep && { sleep: deps.sleep }),
        ...(deps.random && { random: deps.random }),
      },
    );
  }

  /** Ends the event's publication before the invocation would time out (the log line is already written). */
  reportSignal(): AbortSignal {
    return AbortSignal.timeout(Math.max(1, this.invocationEndsAt - REPORT_RESERVE_MS - this.localNow()));
  }

  /** AWS's time when known, else the host's (a run that failed before any AWS answer). */
  reportTime(): number {
    return this.deps.clock.offset === undefined ? this.localNow() : this.deps.clock.now();
  }

  async execute(force: boolean): Promise<RunFacts> {
    const { current, state } = await this.protocol.snapshot();
    this.lastRead = current;
    this.redactor.add(current.document.accessToken, current.document.refreshToken);
    // One rule set (lambda/protocol/decision.ts), which `status` reports too. The client secret is
    // read only by a run that goes on: a backoff ends when its version changes.
    const input = { document: current.document, state, now: this.deps.clock.now(), force };
    const before = decide(input, this.rules);
    if (before.kind === "skip") return { outcome: "Skipped", reason: before.reason, ...this.stored(current) };
    const clientSecret = await readClientSecretVersion(this.deps.secrets, this.credential.clientSecretId);
    this.redactor.addClientSecret(clientSecret.value);
    const decision = decide({ ...input, clientSecret }, this.rules);
    if (decision.kind === "skip") return { outcome: "Skipped", reason: decision.reason, ...this.stored(current) };
    if (decision.kind === "backoff") return this.backingOff(state, current, decision.until);

    const lease = await this.protocol.acquire(this.runId, current);
    if (!lease) return { outcome: "Skipped", reason: "busy", ...this.stored(current) };
    let record: AttemptRecord | undefined;
    try {
      const { facts, attempt } = await this.underLease(lease, state, current, clientSecret, force);
      record = attempt;
      return facts;
    } catch (error) {
      record = { ...this.failedAttempt(error, lease, clientSecret), forced: force };
      throw error;
    } finally {
      await this.release(lease, state, record);
    }
  }

  failure(error: unknown): RunFacts {
    const known = error instanceof RefreshError ? error : undefined;
    return {
      outcome: known?.outcome ?? "RefreshFailed",
      reason: error instanceof Error ? error.name : "Error",
      httpStatus: known?.httpStatus,
      errorCode: known?.errorCode,
      errorKind: errorKindOf(error),
      message: describeError(error, this.redactor),
      ...(this.lastRead && this.stored(this.lastRead)),
    };
  }

  private async underLease(
    lease: Lease,
    state: CredentialState,
    read: TokenVersion,
    clientSecret: ClientSecretVersion,
    force: boolean,
  ): Promise<{ facts: RunFacts; attempt?: AttemptRecord }> {
    let current = read;
    // A crashed holder's version counts against the quota too, once it is known.
    const completed = await this.protocol.completePending(lease, current);
    const completedVersions = completed ? [Date.parse(completed.document.refreshedAt!)] : [];
    if (completed) {
      this.lastRead = current = completed;
      const attempt: AttemptRecord = {
        attempt: { outcome: "Refreshed", reason: "completed-pending", at: completedVersions[0]! },
        permanent: false,
        createdVersionsAt: completedVersions,
      };
      if (!force) return { facts: { outcome: "Refreshed", reason: "completed-pending", ...this.stored(completed) }, attempt };
    }
    if (!force && !isDue(current.document, this.deps.clock.now(), this.rules)) {
      return { facts: { outcome: "Skipped", reason: "not-due", ...this.stored(current) } };
    }
    this.protocol.checkVersionBudget(state);

    const dialect = (this.deps.createDialect ?? defaultCreateDialect)(this.credential, clientSecret.value, this.deps.runtime);
    let obtained: Awaited<ReturnType<RefreshRun["obtainGrant"]>>;
    try {
      if (!current.document.refreshToken && !dialect.bootstrap) {
        throw new NeedsInitialRefreshTokenError(
          `token secret has no refreshToken: a person must authorize once and store it (see docs/oauth2.md, "Initial refresh token")`,
        );
      }
      obtained = await this.obtainGrant(dialect, current, lease, state);
    } finally {
      await dialect.close();
    }
    if (obtained === "superseded") {
      const latest = (this.lastRead = await this.protocol.readCurrent());
      return { facts: { outcome: "Skipped", reason: "superseded", ...this.stored(latest) } };
    }
    // From the platform's answer to the promotion: nothing but the two writes (docs/protocol.md, step 6).
    const { reason, issuedAt } = obtained;
    const committed = await this.protocol.commit(lease, pairDocument(obtained, current.document));
    const attempt: AttemptRecord = {
      attempt: { outcome: "Refreshed", reason, at: issuedAt, baseVersionId: lease.baseVersionId },
      permanent: false,
      createdVersionsAt: [...completedVersions, issuedAt],
    };
    if (committed.kind === "superseded") {
      this.lastRead = committed.current;
      return { facts: { outcome: "Skipped", reason: "superseded", ...this.stored(committed.current) }, attempt };
    }
    this.lastRead = committed.version;
    return { facts: { outcome: "Refreshed", reason, ...this.stored(committed.version) }, attempt };
  }

  private async obtainGrant(
    dialect: TokenDialect,
    current: TokenVersion,
    lease: Lease,
    state: CredentialState,
  ): Promise<Issued | "superseded"> {
    const bootstrap = dialect.bootstrap;
    const refreshToken = current.document.refreshToken;
    const issued = (grant: TokenGrant, reason: string, calledAt: number): Issued => {
      this.redactor.add(grant.accessToken, grant.refreshToken);
      return { grant, reason, calledAt, issuedAt: this.deps.clock.now() };
    };
    const login = async (reason: string) => {
      const calledAt = this.deps.clock.now();
      return issued(await this.withRetry(() => bootstrap!(this.deadline)), reason, calledAt);
    };
    if (!refreshToken) return login("logged-in"); // the caller checked: only a dialect that can log in gets here
    // The platform rejected this very refresh token last time: log in straight away (one call, not two).
    const rejectedBefore = state.lastAttempt?.outcome === "CredentialRejected" && state.lastAttempt.baseVersionId === current.versionId;
    if (bootstrap && rejectedBefore) return login("logged-in-after-rejection");
    try {
      const calledAt = this.deps.clock.now();
      return issued(await this.withRetry(() => dialect.refresh(refreshToken, this.deadline)), "refreshed", calledAt);
    } catch (error) {
      if (!(error instanceof RefreshError) || error.outcome !== "CredentialRejected") throw error;
      // Another writer may have replaced the pair (and so used up this refresh token): that is no failure.
      const latest = await this.protocol.readCurrent();
      if (latest.versionId !== lease.baseVersionId) return "superseded";
      if (!bootstrap) throw error;
      return login("logged-in-after-rejection");
    }
  }

  private backingOff(state: CredentialState, current: TokenVersion, nextAttemptAt: number): RunFacts {
    const last = state.lastAttempt;
    const until = new Date(nextAttemptAt).toISOString();
    const outcome = last?.outcome === "Refreshed" || !last ? "RefreshFailed" : last.outcome;
    return {
      outcome,
      reason: "backoff",
      httpStatus: last?.httpStatus,
      errorCode: last?.errorCode,
      // The failure it repeats; an item written before kinds were recorded: from the outcome.
      errorKind: last?.errorKind ?? outcomeKind(outcome),
      message: `${state.failureStreak} consecutive failure${state.failureStreak === 1 ? "" : "s"} (last: ${last?.reason ?? "unknown"}); next attempt at ${until}, at once on a forced run or when the client secret changes`,
      backoffUntil: until,
      ...this.stored(current),
    };
  }

  private failedAttempt(error: unknown, lease: Lease, clientSecret: ClientSecretVersion): AttemptRecord {
    const known = error instanceof RefreshError ? error : undefined;
    const outcome = known?.outcome ?? "RefreshFailed";
    return {
      attempt: {
        outcome,
        reason: error instanceof Error ? error.name : "Error",
        at: this.reportTime(),
        ...(known?.httpStatus !== undefined && { httpStatus: known.httpStatus }),
        ...(known?.errorCode !== undefined && { errorCode: known.errorCode }),
        errorKind: errorKindOf(error),
        baseVersionId: lease.baseVersionId,
      },
      // Only what calling again cannot fix backs off; a lost pair or a storage hiccup is retried next tick.
      permanent: known !== undefined && !known.retryable && outcome !== "PairDiscarded",
      ...(clientSecret.versionId && { clientSecretVersionId: clientSecret.versionId }),
      pendingPromotion: error instanceof PromotionPendingError,
    };
  }

  /** Best effort: a release that fails leaves a lease that expires on its own. */
  private async release(lease: Lease, state: CredentialState, record: AttemptRecord | undefined): Promise<void> {
    try {
      await this.protocol.release(lease, state, record);
    } catch (error) {
      console.warn(JSON.stringify({ level: "WARN", message: "could not release the lease; it expires on its own", credential: this.credential.name, reason: describeError(error, this.redactor) }));
    }
  }

  private withRetry<T>(attempt: () => Promise<T>): Promise<T> {
    return withRetry(attempt, {
      deadline: this.deadline,
      sleep: this.deps.sleep ?? ((ms) => sleep(ms)),
      random: this.deps.random ?? Math.random,
      policy: this.deps.retryPolicy ?? DEFAULT_RETRY_POLICY,
      onAttempt: () => this.apiCalls++,
    });
  }

  private stored(version: TokenVersion): Pick<RefreshResult, "tokenSecretArn" | "versionId" | "expiresAt" | "dueAt" | "ttlSeconds" | "refreshTokenTtlSeconds"> {
    const now = this.reportTime();
    const due = dueAt(version.document, this.rules);
    return {
      tokenSecretArn: version.arn,
      versionId: version.versionId,
      expiresAt: version.document.expiresAt,
      ...(due !== undefined && { dueAt: new Date(due).toISOString() }),
      ttlSeconds: accessTokenSecondsLeft(version.document, now),
      refreshTokenTtlSeconds: refreshTokenSecondsLeft(version.document, now),
    };
  }
}

/** A pair the platform issued, with AWS's time when it was asked for and when it answered. */
interface Issued {
  readonly grant: TokenGrant;
  readonly reason: string;
  readonly calledAt: number;
  readonly issuedAt: number;
}

/** The token secret's document for an issued pair; `previous` is the pair it replaces. */
function pairDocument({ grant, calledAt, issuedAt }: Issued, previous: TokenDocument): TokenDocument {
  // A refresh token the server did not rotate keeps the lifetime it had.
  const refreshTokenExpiresAt =
    grant.refreshTokenExpiresInSeconds !== undefined
      ? new Date(calledAt + grant.refreshTokenExpiresInSeconds * 1000).toISOString()
      : grant.refreshToken === previous.refreshToken
        ? previous.refreshTokenExpiresAt
        : undefined;
  return {
    accessToken: grant.accessToken,
    refreshToken: grant.refreshToken,
    tokenType: grant.tokenType,
    scope: grant.scope,
    // Counted from when the request was sent: the platform's clock started no earlier.
    expiresAt: new Date(calledAt + grant.expiresInSeconds * 1000).toISOString(),
    // The answer's time orders pairs: the later one is the one the platform honours.
    refreshedAt: new Date(issuedAt).toISOString(),
    ...(refreshTokenExpiresAt && { refreshTokenExpiresAt }),
  };
}
