import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { RefresherConfig } from "../config.js";
import { createDialect as defaultCreateDialect, type DialectFactory } from "../dialects/index.js";
import type { TokenDialect, TokenGrant } from "../dialects/types.js";
import { NeedsInitialRefreshTokenError, RefreshError, WriteConflictError, describeError } from "../errors.js";
import { readClientSecret } from "../secrets/client-secret.js";
import { LEASE_STAGE, PENDING_STAGE, TokenStore, accessTokenSecondsLeft, type TokenDocument, type TokenVersion } from "../secrets/token-store.js";
import type { RefreshResult, Telemetry } from "../telemetry/telemetry.js";
import { Deadline } from "./deadline.js";
import { DEFAULT_RETRY_POLICY, withRetry, type RetryPolicy } from "./retry.js";

export interface RefreshDeps {
  readonly config: RefresherConfig;
  readonly secrets: SecretsManagerClient;
  readonly telemetry: Telemetry;
  readonly createDialect?: DialectFactory;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
  readonly retryPolicy?: RetryPolicy;
}

/** The trigger: a schedule's event, or `{"force": true}` to refresh even when not due. */
export interface RefreshEvent {
  readonly force?: boolean;
}

type RunFacts = Omit<RefreshResult, "credential" | "apiCalls" | "durationMs">;

/**
 * One refresh run (spec: "Refresh run"): read, decide, lease, call, compare-and-swap write, report.
 * Never throws for an expected failure: the outcome is in the result, the metrics and the event.
 */
export async function runRefresh(deps: RefreshDeps, event: unknown = {}): Promise<RefreshResult> {
  const now = deps.now ?? Date.now;
  const startedAt = now();
  const run = new RefreshRun(deps, now);
  let facts: RunFacts;
  try {
    facts = await run.execute(isForced(event));
  } catch (error) {
    facts = run.failure(error);
  }
  const result: RefreshResult = { credential: deps.config.credentialName, apiCalls: run.apiCalls, durationMs: now() - startedAt, ...facts };
  await deps.telemetry.report(result, new Date(now()));
  return result;
}

function isForced(event: unknown): boolean {
  return typeof event === "object" && event !== null && (event as RefreshEvent).force === true;
}

class RefreshRun {
  apiCalls = 0;
  private readonly store: TokenStore;
  private readonly deadline: Deadline;
  private readonly runId = randomUUID();
  /** The last version read, so a failure can still report the stored token's remaining lifetime. */
  private lastRead?: TokenVersion;

  constructor(
    private readonly deps: RefreshDeps,
    private readonly now: () => number,
  ) {
    this.store = new TokenStore(deps.secrets, deps.config.tokenSecretId);
    this.deadline = new Deadline(deps.config.runBudgetMs, now);
  }

  async execute(force: boolean): Promise<RunFacts> {
    const current = await this.read();

    // A lease means a run was here: if it crashed after storing its new pair, finish its job.
    if (current.document.lease) {
      const completed = await this.completePending(current);
      if (completed) return completed;
    }

    const ttl = accessTokenSecondsLeft(current.document, this.now());
    const due = force || ttl === undefined || !current.document.refreshToken || ttl <= this.deps.config.refreshWindowSeconds;
    if (!due) {
      return { outcome: "Skipped", reason: "not-due", ...this.stored(current) };
    }
    if (current.document.lease && Date.parse(current.document.lease.until) > this.now()) {
      return { outcome: "Skipped", reason: "busy", ...this.stored(current) };
    }

    const dialect = (this.deps.createDialect ?? defaultCreateDialect)(
      this.deps.config,
      await readClientSecret(this.deps.secrets, this.deps.config.clientSecretId),
    );
    try {
      if (!current.document.refreshToken && !dialect.bootstrap) {
        throw new NeedsInitialRefreshTokenError(
          `token secret has no refreshToken: a person must authorize once and store it (see README, "Initial refresh token")`,
        );
      }
      const leased = await this.takeLease(current);
      if (!leased) return { outcome: "Skipped", reason: "busy", ...this.stored(current) };
      return await this.refreshUnderLease(dialect, leased);
    } finally {
      await dialect.close();
    }
  }

  failure(error: unknown): RunFacts {
    const known = error instanceof RefreshError ? error : undefined;
    return {
      outcome: known?.outcome ?? "RefreshFailed",
      reason: error instanceof Error ? error.name : "Error",
      httpStatus: known?.httpStatus,
      errorCode: known?.errorCode,
      message: describeError(error),
      ...(this.lastRead && this.stored(this.lastRead)),
    };
  }

  private async read(): Promise<TokenVersion> {
    this.lastRead = await this.store.readCurrent();
    return this.lastRead;
  }

  private async completePending(current: TokenVersion): Promise<RunFacts | undefined> {
    const pending = await this.store.readPending();
    if (!pending || pending.document.basedOnVersionId !== current.versionId) return undefined;
    if (!(await this.store.promote(pending.versionId, current.versionId))) return undefined;
    this.lastRead = pending;
    return { outcome: "Refreshed", reason: "completed-pending", ...this.stored(pending) };
  }

  /** Stores a copy of the current pair carrying this run's lease and makes it current, or returns undefined if another run won. */
  private async takeLease(current: TokenVersion): Promise<TokenVersion | undefined> {
    const document: TokenDocument = {
      ...current.document,
      basedOnVersionId: undefined,
      lease: { owner: this.runId, until: new Date(this.now() + this.deps.config.leaseSeconds * 1000).toISOString() },
    };
    const versionId = await this.store.store(document, LEASE_STAGE, `lease-${this.runId}`);
    if (!(await this.store.promote(versionId, current.versionId))) return undefined;
    return { arn: current.arn, versionId, document };
  }

  /** After a failed call: put the pair back without the lease, so the next run need not wait for it to expire. */
  private async releaseLease(leased: TokenVersion): Promise<void> {
    try {
      const versionId = await this.store.store({ ...leased.document, lease: undefined }, LEASE_STAGE, `unlease-${this.runId}`);
      if (await this.store.promote(versionId, leased.versionId)) this.lastRead = { ...leased, versionId };
    } catch {
      // Best effort: the lease expires on its own.
    }
  }

  private async refreshUnderLease(dialect: TokenDialect, leased: TokenVersion): Promise<RunFacts> {
    const calledAt = this.now();
    let obtained: Awaited<ReturnType<RefreshRun["obtainGrant"]>>;
    try {
      obtained = await this.obtainGrant(dialect, leased);
    } catch (error) {
      // No new pair exists: hand the lease back. (Once a pair is stored, the lease stays until it
      // is promoted, so that a crash there is completed by the next run, never overwritten.)
      await this.releaseLease(leased);
      throw error;
    }
    if (obtained === "superseded") {
      const latest = await this.read();
      return { outcome: "Skipped", reason: "superseded", ...this.stored(latest) };
    }
    const { grant, reason } = obtained;
    const document: TokenDocument = {
      accessToken: grant.accessToken,
      refreshToken: grant.refreshToken,
      tokenType: grant.tokenType,
      scope: grant.scope,
      // Counted from when the request was sent: the platform's clock started no earlier.
      expiresAt: new Date(calledAt + grant.expiresInSeconds * 1000).toISOString(),
      refreshedAt: new Date(this.now()).toISOString(),
      basedOnVersionId: leased.versionId,
    };
    const versionId = await this.store.store(document, PENDING_STAGE, `pair-${this.runId}`);
    if (!(await this.store.promote(versionId, leased.versionId))) {
      throw new WriteConflictError(
        `token secret changed while this run held the lease; the new pair is stored as version ${versionId} (label ${PENDING_STAGE}) but is not current`,
      );
    }
    const written: TokenVersion = { arn: leased.arn, versionId, document };
    this.lastRead = written;
    return { outcome: "Refreshed", reason, ...this.stored(written) };
  }

  private async obtainGrant(
    dialect: TokenDialect,
    leased: TokenVersion,
  ): Promise<{ grant: TokenGrant; reason: string } | "superseded"> {
    const bootstrap = dialect.bootstrap;
    const refreshToken = leased.document.refreshToken;
    if (!refreshToken) {
      // Checked by the caller: without a refresh token only a dialect that can log in gets here.
      return { grant: await this.withRetry(() => bootstrap!(this.deadline)), reason: "logged-in" };
    }
    try {
      return { grant: await this.withRetry(() => dialect.refresh(refreshToken, this.deadline)), reason: "refreshed" };
    } catch (error) {
      if (!(error instanceof RefreshError) || error.outcome !== "CredentialRejected") throw error;
      // Another writer may have replaced the pair (and so used up this refresh token): that is no failure.
      const latest = await this.store.readCurrent();
      if (latest.versionId !== leased.versionId) return "superseded";
      if (!bootstrap) throw error;
      return { grant: await this.withRetry(() => bootstrap(this.deadline)), reason: "logged-in-after-rejection" };
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

  private stored(version: TokenVersion): Pick<RefreshResult, "tokenSecretArn" | "versionId" | "expiresAt" | "ttlSeconds"> {
    return {
      tokenSecretArn: version.arn,
      versionId: version.versionId,
      expiresAt: version.document.expiresAt,
      ttlSeconds: accessTokenSecondsLeft(version.document, this.now()),
    };
  }
}
