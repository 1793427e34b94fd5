import { setTimeout as sleep } from "node:timers/promises";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { AwsClock } from "../clock.js";
import { PairDiscardedError, PromotionPendingError, ProtocolError, RefreshError, SecretFormatError, VersionBudgetError } from "../errors.js";
import { TokenStore, parseTokenDocument, serializeTokenDocument, type TokenDocument, type TokenVersion } from "../secrets/token-store.js";
import { EMPTY_STATE, StateTable, type CredentialState, type LastAttempt, type Pause, type StateUpdate } from "../state/state-table.js";
import { decide, leftoverOwner, nextRun, type Decision, type DecisionRules, type NextRun } from "./decision.js";

/** Secrets Manager keeps at most 100 versions per secret per 24 h; the refresher uses 95, leaving 5 for operators. */
export const VERSION_BUDGET = 95;
export const VERSION_WINDOW_MS = 24 * 3600 * 1000;
/** Backoff after consecutive permanent failures: 5, 10, 20, 40, then 60 minutes. */
export const BACKOFF_STEPS_MINUTES = [5, 10, 20, 40, 60] as const;
/** Kept free at the end of the invocation for releasing the lease and reporting. */
export const WRITE_RESERVE_MS = 3_000;
/** The release must end this long before the invocation does, leaving the rest to the report. */
const RELEASE_RESERVE_MS = 1_000;
const WRITE_RETRY_FIRST_MS = 100;
const WRITE_RETRY_MAX_MS = 2_000;
/** Compare-and-swap rounds against other writers before the promotion is left to the next run. */
const MAX_RECONCILE_ROUNDS = 3;

/** Where one credential's protocol state lives: its token secret and its item in the state table. */
export interface ProtocolLocation {
  readonly tokenSecretId: string;
  readonly stateTableName: string;
  readonly credentialName: string;
}

/** The AWS clients the protocol talks through; both correct the protocol's clock (AwsClock.watch). */
export interface ProtocolClients {
  readonly secrets: SecretsManagerClient;
  readonly dynamodb: DynamoDBClient;
}

/** A lease this run holds in the state table. */
export interface Lease {
  readonly owner: string;
  /** AWSCURRENT when the lease was taken: the compare-and-swap's expected version. */
  readonly baseVersionId: string;
  readonly secretArn: string;
  /** A previous holder that ended without a clean release: its pair may be stored and not yet current. */
  readonly leftoverOwner?: string;
}

export type CommitResult = { readonly kind: "committed"; readonly version: TokenVersion } | { readonly kind: "superseded"; readonly current: TokenVersion };

export interface WriteProtocolOptions {
  readonly leaseMs: number;
  /** Local epoch ms by which the invocation must end (Lambda: now + remaining time). */
  readonly invocationEndsAt: number;
  readonly localNow?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
}

/** How a run's attempt ended, for the state it leaves behind. */
export interface AttemptRecord {
  readonly attempt: LastAttempt;
  /** A permanent failure (backs off); transient ones keep the normal cadence. */
  readonly permanent: boolean;
  /** The client secret version the attempt used (a new one resets the backoff). */
  readonly clientSecretVersionId?: string;
  /** The run was forced: a failure starts the backoff from its first step. */
  readonly forced?: boolean;
  /** The pair is stored but not current: keep the owner so the next run promotes it. */
  readonly pendingPromotion?: boolean;
  /** Epoch ms (AWS clock) of each token-secret version this run created or promoted for a crashed run. */
  readonly createdVersionsAt?: readonly number[];
}

/** The version id a lease holder's pair is stored under: derived from the owner, so a crashed holder's pair can be found. */
export const pairVersionId = (owner: string) => `pair-${owner}`;

/** The token secret as an operator finds it (`init`): nothing stored yet, a value the refresher cannot read, or a pair. */
export type StoredPair =
  | { readonly kind: "none" }
  | { readonly kind: "unreadable"; readonly versionId: string; readonly problem: SecretFormatError }
  | { readonly kind: "pair"; readonly version: TokenVersion };

/** How an operator's write ended: written (the secret `created` when it was missing), or refused because a run holds the lease or wrote meanwhile. */
export type OperatorWrite = { readonly kind: "written"; readonly versionId: string; readonly created: boolean } | { readonly kind: "busy" } | { readonly kind: "superseded" };

/**
 * The write protocol (docs/protocol.md): the lease and the credential's state in DynamoDB, the
 * pairs in the token secret — exactly one new version per successful refresh, at most two
 * Secrets Manager writes (store, promote) — and nothing between the platform's answer and the
 * promotion but those writes and their retries. Its stores are its own: every reader and writer
 * (the workflow, the CLI, `npm start`) goes through these methods.
 */
export class WriteProtocol {
  private readonly localNow: () => number;
  private readonly store: TokenStore;
  private readonly table: StateTable;

  constructor(
    where: ProtocolLocation,
    clients: ProtocolClients,
    private readonly clock: AwsClock,
    private readonly options: WriteProtocolOptions,
  ) {
    this.localNow = options.localNow ?? Date.now;
    this.store = new TokenStore(clients.secrets, where.tokenSecretId);
    this.table = new StateTable(clients.dynamodb, where.stateTableName, where.credentialName);
  }

  /** The token secret's current version and the credential's state, read together. */
  async snapshot(): Promise<{ current: TokenVersion; state: CredentialState }> {
    const [current, state] = await Promise.all([this.store.readCurrent(), this.table.read()]);
    return { current, state };
  }

  /** The token secret's current pair, read again (after a lost compare-and-swap, or a rejected refresh token). */
  readCurrent(): Promise<TokenVersion> {
    return this.store.readCurrent();
  }

  /**
   * Takes the lease for `owner` unless a live lease is held; `current` is the compare-and-swap
   * base. A run that read `current` before another run's whole refresh went by gets no lease
   * either: the token secret moved since, and that refresh was this run's job too.
   */
  async acquire(owner: string, current: TokenVersion): Promise<Lease | undefined> {
    const before = await this.takeLease(owner, current.versionId);
    return before && { owner, baseVersionId: current.versionId, secretArn: current.arn, ...(before.leaseOwner && { leftoverOwner: before.leaseOwner }) };
  }

  /**
   * Finishes what a previous holder left: its pair, stored under its derived version id but not
   * made current, is promoted if it is newer than the current pair. Returns the new current
   * version, or undefined when there was nothing to finish. Calls no platform API.
   */
  async completePending(lease: Lease, current: TokenVersion): Promise<TokenVersion | undefined> {
    if (!lease.leftoverOwner) return undefined;
    const pending = await pendingPair(this.store, lease.leftoverOwner, current);
    return pending && (await this.store.promote(pending.versionId, current.versionId)) ? pending : undefined;
  }

  /** Refuses, before the platform is called, when the pair it would issue could not be stored. */
  checkVersionBudget(state: CredentialState): void {
    const used = recentVersions(state, this.clock.now()).length;
    if (used >= VERSION_BUDGET) {
      throw new VersionBudgetError(
        `the refresher created ${used} token-secret versions in the last 24 h (budget ${VERSION_BUDGET}; Secrets Manager allows 100 per secret); no refresh until the oldest leaves the window`,
      );
    }
  }

  /**
   * Stores `document` and makes it current, retrying each write with the same idempotency token
   * until the invocation's time runs short. A lost compare-and-swap reconciles: the newer pair
   * wins. Throws PairDiscardedError when the pair could not be stored at all, and
   * PromotionPendingError when it is stored but not current (the next run promotes it).
   */
  async commit(lease: Lease, document: TokenDocument): Promise<CommitResult> {
    const text = roundTrip(document);
    const versionId = await this.retryWrite(
      (signal) => this.store.store(text, pairVersionId(lease.owner), signal),
      (error) => new PairDiscardedError(`the new pair could not be stored in the token secret before the invocation's time ran short: ${describe(error)}`, error),
    );
    const notCurrent = (error: unknown) =>
      new PromotionPendingError(`the new pair is stored as version ${versionId} but could not be made current in time (the next run does it): ${describe(error)}`, error);
    let expected = lease.baseVersionId;
    for (let round = 0; round < MAX_RECONCILE_ROUNDS; round++) {
      if (await this.retryWrite((signal) => this.store.promote(versionId, expected, signal), notCurrent)) {
        return { kind: "committed", version: { arn: lease.secretArn, versionId, document } };
      }
      // Another writer moved AWSCURRENT: of two pairs the platform honours the later one.
      const current = await this.store.readCurrent();
      if (!isNewer(document, current.document)) return { kind: "superseded", current };
      expected = current.versionId;
    }
    throw notCurrent(new Error(`AWSCURRENT kept moving under ${MAX_RECONCILE_ROUNDS} compare-and-swap attempts`));
  }

  /**
   * Ends the lease and records how the attempt went: backoff, failure streak, version log. Without
   * a record (the run ended before calling the platform) the state stays as it was.
   */
  async release(lease: Pick<Lease, "owner">, state: CredentialState, record?: AttemptRecord): Promise<void> {
    const now = this.clock.now();
    const versionLog = recentVersions(state, now);
    versionLog.push(...(record?.createdVersionsAt ?? []));
    // A release that cannot finish in time is abandoned: the lease then expires on its own.
    const signal = AbortSignal.timeout(Math.max(1, this.options.invocationEndsAt - RELEASE_RESERVE_MS - this.localNow()));
    if (!record) {
      await this.table.release(lease.owner, now, { ...state, versionLog, keepOwner: false }, signal);
      return;
    }
    // A forced run, or a client secret changed since the last failure, starts the backoff afresh.
    const newSecret = record.clientSecretVersionId !== undefined && state.clientSecretVersionId !== undefined && record.clientSecretVersionId !== state.clientSecretVersionId;
    const previousStreak = record.forced || newSecret ? 0 : state.failureStreak;
    const failureStreak = record.attempt.outcome === "Refreshed" ? 0 : previousStreak + (record.permanent ? 1 : 0);
    const update: StateUpdate = {
      failureStreak,
      ...(record.permanent && { nextAttemptAt: now + backoffMs(failureStreak) }),
      ...(record.permanent && record.clientSecretVersionId && { clientSecretVersionId: record.clientSecretVersionId }),
      lastAttempt: record.attempt,
      versionLog,
      keepOwner: record.pendingPromotion === true,
    };
    await this.table.release(lease.owner, now, update, signal);
  }

  /** The token secret's current value as an operator sees it, unparsed first: `init` may replace what the refresher cannot read. */
  async readStored(): Promise<StoredPair> {
    const stored = await this.store.currentText();
    if (!stored) return { kind: "none" };
    try {
      return { kind: "pair", version: { arn: stored.arn, versionId: stored.versionId, document: parseTokenDocument(stored.text, this.store.secretId) } };
    } catch (error) {
      if (error instanceof SecretFormatError) return { kind: "unreadable", versionId: stored.versionId, problem: error };
      throw error;
    }
  }

  /**
   * An operator's write (`init`, `npm start`'s demo): `document` becomes the token secret's current
   * value under the lease, like a refresh's pair — by compare-and-swap from `expectedVersionId`,
   * or, when the secret has no value yet (`expectedVersionId` undefined), as its first value, the
   * secret created if it is missing. Recorded as a refresh: it counts against the version budget
   * and ends a failing credential's backoff. `owner` is a run id (a UUID): the version is named
   * `pair-<owner>`, and Secrets Manager wants 32 to 64 characters.
   */
  async writeOperatorDocument(owner: string, document: TokenDocument, expectedVersionId: string | undefined): Promise<OperatorWrite> {
    const text = roundTrip(document);
    const state = await this.table.read();
    const before = await this.takeLease(owner, expectedVersionId);
    if (!before) return { kind: "busy" };
    const lease = { owner };
    let record: AttemptRecord | undefined;
    try {
      let written: OperatorWrite;
      if (expectedVersionId === undefined) {
        const first = await this.store.initialize(text, pairVersionId(owner));
        written = { kind: "written", ...first };
      } else {
        const committed = await this.commit({ owner, baseVersionId: expectedVersionId, secretArn: this.store.secretId }, document);
        if (committed.kind === "superseded") return { kind: "superseded" };
        written = { kind: "written", versionId: committed.version.versionId, created: false };
      }
      const at = this.clock.now();
      record = { attempt: { outcome: "Refreshed", reason: "operator-write", at }, permanent: false, createdVersionsAt: [at] };
      return written;
    } finally {
      await this.release(lease, state, record);
    }
  }

  /**
   * Records an operator's pause (docs/cli.md, "Pausing a credential"): who, and when on AWS's clock.
   * Runs then skip unless forced. The lease and the failure state are left alone; idempotent.
   */
  async recordPause(by: string): Promise<Pause> {
    const now = await this.awsNow();
    const pause: Pause = { by, at: now };
    await this.table.setPaused(pause, now);
    return pause;
  }

  /** Clears an operator's pause; idempotent. */
  async clearPause(): Promise<void> {
    const now = await this.awsNow();
    await this.table.setPaused(undefined, now);
  }

  /**
   * Forgets the credential (`fleet remove`, an undone `fleet add`): its state — lease, backoff,
   * version log, pause — is deleted. The token secret is the caller's to delete.
   */
  async forget(): Promise<void> {
    await this.table.delete();
  }

  /** AWS's time; a protocol that has not heard from AWS yet reads the item first, whose answer sets the clock. */
  private async awsNow(): Promise<number> {
    if (this.clock.offset === undefined) await this.table.read();
    return this.clock.now();
  }

  /**
   * The lease for `owner`, based on AWSCURRENT being `baseVersionId` (undefined: the secret has
   * no value yet). Returns the item as it was before, or undefined when a live lease is held or
   * AWSCURRENT is no longer the base (the lease is given back then).
   */
  private async takeLease(owner: string, baseVersionId: string | undefined): Promise<CredentialState | undefined> {
    const now = this.clock.now();
    const before = await this.table.takeLease(owner, now, now + this.options.leaseMs, baseVersionId);
    if (!before) return undefined;
    if ((await this.store.currentVersionId()) === baseVersionId) return before;
    await this.release({ owner }, before);
    return undefined;
  }

  /** Epoch ms (local clock) by which every write must have ended. */
  private writeDeadline(): number {
    return this.options.invocationEndsAt - WRITE_RESERVE_MS;
  }

  private async retryWrite<T>(write: (signal: AbortSignal) => Promise<T>, giveUp: (error: unknown) => RefreshError): Promise<T> {
    const pause = this.options.sleep ?? ((ms: number) => sleep(ms));
    const random = this.options.random ?? Math.random;
    for (let attempt = 0; ; attempt++) {
      const left = this.writeDeadline() - this.localNow();
      try {
        if (left <= 0) throw new Error("no time left");
        return await write(AbortSignal.timeout(left));
      } catch (error) {
        const delay = Math.round(random() * Math.min(WRITE_RETRY_MAX_MS, WRITE_RETRY_FIRST_MS * 2 ** attempt));
        if (!isRetryableAwsError(error) || this.writeDeadline() - this.localNow() <= delay) throw giveUp(error);
        await pause(delay);
      }
    }
  }
}

/** The backoff after `streak` consecutive permanent failures. */
export function backoffMs(streak: number): number {
  const step = BACKOFF_STEPS_MINUTES[Math.min(Math.max(streak, 1), BACKOFF_STEPS_MINUTES.length) - 1]!;
  return step * 60 * 1000;
}

/** What `status` shows: the stored pair, the credential's state, a leftover pair waiting for promotion, and what the next run does. */
export interface Inspection {
  readonly current: TokenVersion;
  /** Undefined when the state table is not known (only the token secret was given). */
  readonly state: CredentialState | undefined;
  /** A pair a holder left stored but not current, which the next run promotes (newer than AWSCURRENT). */
  readonly pending: TokenVersion | undefined;
  readonly decision: Decision;
  readonly next: NextRun;
  /** AWS's time the decision was taken at. */
  readonly now: number;
}

/**
 * What the next scheduled (not forced) run would do, read through the protocol's stores without
 * taking the lease or writing: the same reads, the same decision (lambda/protocol/decision.ts) on
 * AWS's clock, and the same newer-pair check as `completePending`. `clients` must be watched by
 * `clock`. Without the state table the state is taken as empty. `clientSecret`: its AWSCURRENT
 * version, when the caller could learn it (else a backoff is reported as not `certain`).
 */
export async function inspectCredential(
  where: Pick<ProtocolLocation, "tokenSecretId"> & Partial<Omit<ProtocolLocation, "tokenSecretId">>,
  clients: ProtocolClients,
  clock: AwsClock,
  rules: DecisionRules,
  clientSecret?: { readonly versionId: string | undefined },
): Promise<Inspection> {
  const store = new TokenStore(clients.secrets, where.tokenSecretId);
  const table = where.stateTableName && where.credentialName ? new StateTable(clients.dynamodb, where.stateTableName, where.credentialName) : undefined;
  const [current, state] = await Promise.all([store.readCurrent(), table?.read()]);
  const now = clock.now();
  const decision = decide({ document: current.document, state: state ?? EMPTY_STATE, now, force: false, ...(clientSecret && { clientSecret }) }, rules);
  const leftover = state && leftoverOwner(state, now);
  const pending = leftover ? await pendingPair(store, leftover, current) : undefined;
  return { current, state, pending, decision, next: nextRun(decision, pending !== undefined), now };
}

/** The pair `owner` stored under its derived version id, when it is not current and newer than `current`: the one to promote. */
async function pendingPair(store: TokenStore, owner: string, current: TokenVersion): Promise<TokenVersion | undefined> {
  const pending = await store.readVersion(pairVersionId(owner));
  return pending && pending.versionId !== current.versionId && isNewer(pending.document, current.document) ? pending : undefined;
}

function recentVersions(state: CredentialState, now: number): number[] {
  return state.versionLog.filter((at) => at > now - VERSION_WINDOW_MS);
}

/** `a` was issued after `b` (a pair without an issue time is the older). */
function isNewer(a: TokenDocument, b: TokenDocument): boolean {
  if (!a.refreshedAt) return false;
  return !b.refreshedAt || Date.parse(a.refreshedAt) > Date.parse(b.refreshedAt);
}

/** The text to store, accepted by the same parser that reads the token secret, or a ProtocolError naming the field. */
function roundTrip(document: TokenDocument): string {
  const text = serializeTokenDocument(document);
  try {
    parseTokenDocument(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ProtocolError(`the platform's pair would make a token secret its readers reject (${reason}); nothing was written`, { httpStatus: 200, cause: error });
  }
  return text;
}

/**
 * Worth another try within the invocation: throttling, server faults, timeouts and network
 * errors. Client faults (AccessDenied, the version quota, …) will not change by retrying.
 */
export function isRetryableAwsError(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const e = error as { name?: string; $fault?: string; $retryable?: unknown };
  // The SDK counts the version quota as throttling, but it frees up over 24 hours, not seconds.
  if (e.name === "LimitExceededException") return false;
  if (e.name === "ThrottlingException" || e.name === "TooManyRequestsException" || e.$retryable) return true;
  return e.$fault !== "client";
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
