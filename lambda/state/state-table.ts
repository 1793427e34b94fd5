import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  GetItemCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from "@aws-sdk/client-dynamodb";
import { ERROR_KINDS, type ErrorKind, type FailureOutcome } from "../errors.js";
import { STATE_KEY, STATE_TTL_ATTRIBUTE } from "../settings.js";

/** An item not written for this long belongs to a credential that is gone; DynamoDB's TTL removes it. */
const STALE_ITEM_SECONDS = 30 * 24 * 3600;

/** The last attempt that called (or would have called) the platform. */
export interface LastAttempt {
  readonly outcome: "Refreshed" | FailureOutcome;
  readonly reason: string;
  readonly at: number;
  readonly httpStatus?: number;
  readonly errorCode?: string;
  /** A failure's kind, so a backoff tick that repeats it reports the same kind. */
  readonly errorKind?: ErrorKind;
  /** The token-secret version the attempt started from. */
  readonly baseVersionId?: string;
}

/** One credential's operational state: the lease, the failure backoff and the version log (docs/protocol.md). */
export interface CredentialState {
  /** The run holding the lease, or the last one that held it without cleanly releasing it. */
  readonly leaseOwner?: string;
  /** Epoch ms (AWS clock) the lease ends; at or before now, the lease is free. */
  readonly leaseUntil?: number;
  /** The token-secret version AWSCURRENT was on when the lease was taken. */
  readonly leaseBaseVersionId?: string;
  /** Consecutive permanent failures. */
  readonly failureStreak: number;
  /** Epoch ms (AWS clock) before which a failing credential calls nothing. */
  readonly nextAttemptAt?: number;
  /** The client secret version the backoff was computed for: a new one resets it. */
  readonly clientSecretVersionId?: string;
  readonly lastAttempt?: LastAttempt;
  /** Epoch ms of each token-secret version this protocol created, newest last, pruned to 24 h. */
  readonly versionLog: readonly number[];
  /** Set while an operator has paused the credential (`token-refresher pause`). */
  readonly paused?: Pause;
}

/** Who paused a credential (an AWS principal ARN) and when (epoch ms, AWS's clock). */
export interface Pause {
  readonly by: string;
  readonly at: number;
}

export const EMPTY_STATE: CredentialState = { failureStreak: 0, versionLog: [] };

/** What a release records besides freeing the lease. */
export interface StateUpdate {
  readonly failureStreak: number;
  readonly nextAttemptAt?: number;
  readonly clientSecretVersionId?: string;
  readonly lastAttempt?: LastAttempt;
  readonly versionLog: readonly number[];
  /** Keep `leaseOwner` (lease expired at once) so the next run completes this run's stored, unpromoted pair. */
  readonly keepOwner: boolean;
}

/**
 * The state table's item for one credential, read consistently and changed only by conditional
 * writes. Knows DynamoDB's shapes; the rules are the write protocol's (lambda/protocol).
 */
export class StateTable {
  constructor(
    private readonly dynamodb: DynamoDBClient,
    private readonly tableName: string,
    readonly credential: string,
  ) {}

  async read(): Promise<CredentialState> {
    const answer = await this.dynamodb.send(
      new GetItemCommand({ TableName: this.tableName, Key: this.key(), ConsistentRead: true }),
    );
    return answer.Item ? fromItem(answer.Item) : EMPTY_STATE;
  }

  /**
   * Takes the lease if it is free at `now`. Returns the item as it was before (so the caller can
   * find a crashed holder's pair), or undefined when another run holds the lease. `baseVersionId`
   * is undefined when the token secret has no value yet.
   */
  async takeLease(owner: string, now: number, until: number, baseVersionId: string | undefined): Promise<CredentialState | undefined> {
    const values: Record<string, AttributeValue> = {
      ":owner": { S: owner },
      ":until": num(until),
      ":now": num(now),
      ":ttl": num(Math.floor(now / 1000) + STALE_ITEM_SECONDS),
    };
    if (baseVersionId !== undefined) values[":base"] = { S: baseVersionId };
    const base = baseVersionId === undefined ? " REMOVE leaseBase" : ", leaseBase = :base";
    try {
      const answer = await this.dynamodb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.key(),
          UpdateExpression: `SET leaseOwner = :owner, leaseUntil = :until, #ttl = :ttl${base}`,
          ConditionExpression: "attribute_not_exists(leaseUntil) OR leaseUntil <= :now",
          ExpressionAttributeNames: { "#ttl": STATE_TTL_ATTRIBUTE },
          ExpressionAttributeValues: values,
          ReturnValues: "ALL_OLD",
        }),
      );
      return answer.Attributes ? fromItem(answer.Attributes) : EMPTY_STATE;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      // The SDK's retry of a take whose answer was lost finds this very owner holding the lease.
      // Who held it before is unknown then: a crashed holder's pair is older than the one this run gets.
      const now = await this.read();
      return now.leaseOwner === owner && now.leaseUntil === until ? { ...EMPTY_STATE, versionLog: now.versionLog } : undefined;
    }
  }

  /** Ends `owner`'s lease and records the attempt. Returns false when `owner` no longer held it. */
  async release(owner: string, now: number, update: StateUpdate, signal?: AbortSignal): Promise<boolean> {
    const values: Record<string, AttributeValue> = {
      ":owner": { S: owner },
      ":streak": num(update.failureStreak),
      ":log": { L: update.versionLog.map(num) },
      ":ttl": num(Math.floor(now / 1000) + STALE_ITEM_SECONDS),
    };
    const set = ["failureStreak = :streak", "versionLog = :log", "#ttl = :ttl"];
    const remove: string[] = [];
    if (update.keepOwner) {
      // Expired for every clock, however far a later run's estimate of AWS's time is behind.
      set.push("leaseUntil = :expired");
      values[":expired"] = num(0);
    } else {
      remove.push("leaseOwner", "leaseUntil", "leaseBase");
    }
    optional(update.nextAttemptAt, "nextAttemptAt", (v) => num(v));
    optional(update.clientSecretVersionId, "clientSecretVersion", (v) => ({ S: v }));
    optional(update.lastAttempt, "lastAttempt", (v) => ({ M: attemptItem(v) }));
    try {
      await this.dynamodb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.key(),
          UpdateExpression: `SET ${set.join(", ")}${remove.length ? ` REMOVE ${remove.join(", ")}` : ""}`,
          ConditionExpression: "leaseOwner = :owner",
          ExpressionAttributeNames: { "#ttl": STATE_TTL_ATTRIBUTE },
          ExpressionAttributeValues: values,
        }),
        { abortSignal: signal },
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }

    function optional<T>(value: T | undefined, attribute: string, toValue: (value: T) => AttributeValue): void {
      if (value === undefined) {
        remove.push(attribute);
      } else {
        set.push(`${attribute} = :${attribute}`);
        values[`:${attribute}`] = toValue(value);
      }
    }
  }

  /**
   * Records (or, with undefined, clears) an operator's pause; leaves the lease and the failure state
   * alone. A paused item has no TTL, so a long pause is not forgotten; resuming sets it again.
   */
  async setPaused(pause: Pause | undefined, now: number): Promise<void> {
    await this.dynamodb.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: this.key(),
        UpdateExpression: pause ? "SET pausedBy = :by, pausedAt = :at REMOVE #ttl" : "SET #ttl = :ttl REMOVE pausedBy, pausedAt",
        ExpressionAttributeNames: { "#ttl": STATE_TTL_ATTRIBUTE },
        ExpressionAttributeValues: pause ? { ":by": { S: pause.by }, ":at": num(pause.at) } : { ":ttl": num(Math.floor(now / 1000) + STALE_ITEM_SECONDS) },
      }),
    );
  }

  /** Deletes the item: the credential is gone (a fleet's `remove`, or its `add` undone). Idempotent. */
  async delete(): Promise<void> {
    await this.dynamodb.send(new DeleteItemCommand({ TableName: this.tableName, Key: this.key() }));
  }

  private key(): Record<string, AttributeValue> {
    return { [STATE_KEY]: { S: this.credential } };
  }
}

const num = (value: number): AttributeValue => ({ N: String(value) });

function attemptItem(attempt: LastAttempt): Record<string, AttributeValue> {
  const item: Record<string, AttributeValue> = { outcome: { S: attempt.outcome }, reason: { S: attempt.reason }, at: num(attempt.at) };
  if (attempt.httpStatus !== undefined) item.httpStatus = num(attempt.httpStatus);
  if (attempt.errorCode !== undefined) item.errorCode = { S: attempt.errorCode };
  if (attempt.errorKind !== undefined) item.errorKind = { S: attempt.errorKind };
  if (attempt.baseVersionId !== undefined) item.baseVersionId = { S: attempt.baseVersionId };
  return item;
}

function fromItem(item: Record<string, AttributeValue>): CredentialState {
  const text = (value: AttributeValue | undefined) => value?.S;
  const number = (value: AttributeValue | undefined) => (value?.N === undefined ? undefined : Number(value.N));
  const last = item.lastAttempt?.M;
  return {
    leaseOwner: text(item.leaseOwner),
    leaseUntil: number(item.leaseUntil),
    leaseBaseVersionId: text(item.leaseBase),
    failureStreak: number(item.failureStreak) ?? 0,
    nextAttemptAt: number(item.nextAttemptAt),
    clientSecretVersionId: text(item.clientSecretVersion),
    lastAttempt: last && {
      outcome: text(last.outcome) as LastAttempt["outcome"],
      reason: text(last.reason) ?? "",
      at: number(last.at) ?? 0,
      httpStatus: number(last.httpStatus),
      errorCode: text(last.errorCode),
      errorKind: ERROR_KINDS.find((kind) => kind === text(last.errorKind)),
      baseVersionId: text(last.baseVersionId),
    },
    versionLog: (item.versionLog?.L ?? []).map(number).filter((at): at is number => at !== undefined),
    ...(item.pausedBy?.S && item.pausedAt?.N && { paused: { by: item.pausedBy.S, at: Number(item.pausedAt.N) } }),
  };
}
