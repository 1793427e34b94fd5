// The fleet's registry (docs/fleet.md, "Registry item"): one DynamoDB item per credential holding its
// spec as data and when it is due, behind intent-level methods. The CLI's fleet commands register,
// read, list, pause, resume and delete; the scheduler finds due credentials and marks them enqueued;
// a worker records each run. Names come from ./schema.ts; DynamoDB's shapes stay in this module.
import { createHash } from "node:crypto";
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from "@aws-sdk/client-dynamodb";
import { checkCredential, credentialSpec, type CredentialSpec } from "../config/index.js";
import { ConfigError, RefreshError } from "../errors.js";
import { DUE_INDEX, DUE_SHARDS, REGISTRY_KEY, WRITE_BUDGET_KEY_PREFIX } from "../settings.js";
import { REGISTRY_ATTRIBUTE as A, type CredentialStatus } from "./schema.js";

/** A credential's spec as registered: a plain object in canonical units, without defaults (`credentialSpec` builds the spec from it). */
export type RegisteredSpec = Readonly<Record<string, string | number | boolean>>;

/** One credential's registry item. Times are epoch ms on AWS's clock (the CLI's bookkeeping: its best clock). */
export interface RegistryItem {
  readonly credential: string;
  readonly spec: RegisteredSpec;
  readonly status: CredentialStatus;
  /** The due-index shard: present only while active (the index is sparse). */
  readonly dueShard?: string;
  /** From when a run should refresh: the stored access token's expiry minus the refresh window; 0 for a new credential (due at once). */
  readonly nextDueAt: number;
  /** Not enqueued before this: a run is in flight, or the credential backs off after a failure. */
  readonly retryAt?: number;
  /** When the stored access token expires, as the last run saw it. */
  readonly expiresAt?: number;
  readonly lastOutcome?: string;
  readonly lastReason?: string;
  readonly lastRunAt?: number;
  /** Set by the scheduler when it paged for the credential as overdue; cleared once a run leaves it not due. */
  readonly overdueSince?: number;
  readonly createdAt?: number;
  readonly createdBy?: string;
  readonly pausedAt?: number;
  readonly pausedBy?: string;
}

/** Who registered or paused a credential (an AWS principal ARN), and when (epoch ms, AWS's clock). */
export interface Change {
  readonly principal: string;
  readonly at: number;
}

/** What a run leaves in the registry (lambda/fleet/worker.ts decides it). */
export interface RunRecord {
  readonly outcome: string;
  readonly reason: string;
  /** When the run ended (AWS's clock). */
  readonly at: number;
  /** What the run saw of the stored pair: when it is due next and when its access token expires (absent: unknown). Absent when the run read no pair: the item keeps what it had. */
  readonly stored?: { readonly nextDueAt: number; readonly expiresAt?: number };
  /** Not before this (a backoff, or a short wait after a failure); absent: as soon as it is due. */
  readonly retryAt?: number;
}

/** One page of due credentials of one shard. */
export interface DuePage {
  readonly items: RegistryItem[];
  /** Where the next page starts; undefined on the last page. */
  readonly next?: Record<string, AttributeValue>;
}

/** `register` found the credential already registered. */
export class CredentialExistsError extends RefreshError {
  override readonly name = "CredentialExistsError";
  override readonly kind = "config";
  constructor(readonly credential: string) {
    super(`credential ${credential} is already registered in this fleet`);
  }
}

/** The credential is being removed (`fleet remove`): only `removing` may be set on it. */
export class CredentialRemovingError extends RefreshError {
  override readonly name = "CredentialRemovingError";
  override readonly kind = "config";
  constructor(readonly credential: string) {
    super(`credential ${credential} is being removed; run fleet remove again to finish`);
  }
}

/** No credential of that name is registered. */
export class UnknownCredentialError extends RefreshError {
  override readonly name = "UnknownCredentialError";
  override readonly kind = "config";
  constructor(readonly credential: string) {
    super(`credential ${credential} is not registered in this fleet`);
  }
}

/** Every due-index partition: `due#0` … `due#{DUE_SHARDS-1}`. */
export const DUE_SHARD_KEYS: readonly string[] = Array.from({ length: DUE_SHARDS }, (_, shard) => `due#${shard}`);

/** The due-index partition of a credential, from a hash of its name. */
export function dueShardOf(credential: string): string {
  return DUE_SHARD_KEYS[createHash("sha256").update(credential).digest().readUInt32BE(0) % DUE_SHARDS]!;
}

/**
 * The registry table of one fleet. Every write is conditional where two writers could meet: a
 * registration never replaces an item, two schedulers never both enqueue a credential, and a run's
 * record never brings back a deleted one.
 */
export class Registry {
  constructor(
    private readonly dynamodb: DynamoDBClient,
    readonly tableName: string,
  ) {}

  /**
   * Registers a credential from its plain spec (canonical units, as `credentialSpec` takes it),
   * due at once and active. Validates with the settings' rule set first: a ConfigError names every
   * bad field and nothing is written. A credential of that name already registered:
   * CredentialExistsError, unless it is this very registration (same `by`), whose first answer was lost.
   */
  async register(plain: Readonly<Record<string, unknown>>, by: Change): Promise<CredentialSpec> {
    const credential = credentialSpec(plain);
    const given = Object.fromEntries(Object.entries(plain).filter(([, value]) => value !== undefined)) as RegisteredSpec;
    try {
      await this.dynamodb.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            [A.credential]: { S: credential.name },
            [A.specMap]: { M: marshalSpec(given) },
            [A.status]: { S: "active" },
            [A.dueShard]: { S: dueShardOf(credential.name) },
            [A.nextDueAt]: { N: "0" },
            [A.createdAt]: { N: String(by.at) },
            [A.createdBy]: { S: by.principal },
          },
          ConditionExpression: "attribute_not_exists(#key)",
          ExpressionAttributeNames: { "#key": REGISTRY_KEY },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const existing = await this.read(credential.name);
      if (existing?.createdAt !== by.at || existing.createdBy !== by.principal) throw new CredentialExistsError(credential.name);
    }
    return credential;
  }

  /** The credential's item (a consistent read), or undefined when it is not registered. */
  async read(credential: string): Promise<RegistryItem | undefined> {
    const answer = await this.dynamodb.send(new GetItemCommand({ TableName: this.tableName, Key: keyOf(credential), ConsistentRead: true }));
    return answer.Item && itemFrom(answer.Item);
  }

  /** Every registered credential, one Scan page at a time (at most `pageSize` items read each); the write budget's items are left out. */
  async *pages(pageSize?: number): AsyncGenerator<RegistryItem[]> {
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.dynamodb.send(
        new ScanCommand({
          TableName: this.tableName,
          FilterExpression: "NOT begins_with(#key, :budget)",
          ExpressionAttributeNames: { "#key": REGISTRY_KEY },
          ExpressionAttributeValues: { ":budget": { S: WRITE_BUDGET_KEY_PREFIX } },
          ConsistentRead: true,
          ExclusiveStartKey: start,
          Limit: pageSize,
        }),
      );
      yield (page.Items ?? []).map(itemFrom);
      start = page.LastEvaluatedKey;
    } while (start);
  }

  /** Every registered credential, sorted by name (a full scan: for operators, not for the schedule). */
  async list(): Promise<RegistryItem[]> {
    const items: RegistryItem[] = [];
    for await (const page of this.pages()) items.push(...page);
    return items.sort((a, b) => a.credential.localeCompare(b.credential));
  }

  /**
   * Sets the status: `active` puts the credential back in the due index (due as it was), `paused`
   * and `removing` take it out (no runs). `by` is recorded for a pause. UnknownCredentialError when
   * it is not registered; CredentialRemovingError for anything but `removing` on one being removed.
   * Returns the item as it is now.
   */
  async setStatus(credential: string, status: CredentialStatus, by: Change): Promise<RegistryItem> {
    const names: Record<string, string> = { "#key": REGISTRY_KEY, "#status": A.status, "#shard": A.dueShard };
    const values: Record<string, AttributeValue> = { ":status": { S: status } };
    let expression: string;
    if (status === "active") {
      Object.assign(names, { "#pausedAt": A.pausedAt, "#pausedBy": A.pausedBy });
      values[":shard"] = { S: dueShardOf(credential) };
      expression = "SET #status = :status, #shard = :shard REMOVE #pausedAt, #pausedBy";
    } else if (status === "paused") {
      Object.assign(names, { "#pausedAt": A.pausedAt, "#pausedBy": A.pausedBy });
      Object.assign(values, { ":at": { N: String(by.at) }, ":by": { S: by.principal } });
      expression = "SET #status = :status, #pausedAt = :at, #pausedBy = :by REMOVE #shard";
    } else {
      expression = "SET #status = :status REMOVE #shard";
    }
    const guard = status === "removing" ? "" : " AND #status <> :removing";
    if (guard) values[":removing"] = { S: "removing" };
    try {
      const answer = await this.dynamodb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: keyOf(credential),
          UpdateExpression: expression,
          ConditionExpression: `attribute_exists(#key)${guard}`,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: "ALL_NEW",
        }),
      );
      return itemFrom(answer.Attributes!);
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      throw (await this.read(credential)) ? new CredentialRemovingError(credential) : new UnknownCredentialError(credential);
    }
  }

  /**
   * Deletes the credential's item; with `created`, only the item that registration wrote (an add
   * undoing itself never deletes another's). False when there was none (or not that one). The
   * secrets are the caller's (`fleet remove`).
   */
  async delete(credential: string, created?: Change): Promise<boolean> {
    try {
      const answer = await this.dynamodb.send(
        new DeleteItemCommand({
          TableName: this.tableName,
          Key: keyOf(credential),
          ReturnValues: "ALL_OLD",
          ...(created && {
            ConditionExpression: "#at = :at AND #by = :by",
            ExpressionAttributeNames: { "#at": A.createdAt, "#by": A.createdBy },
            ExpressionAttributeValues: { ":at": { N: String(created.at) }, ":by": { S: created.principal } },
          }),
        }),
      );
      return answer.Attributes !== undefined;
    } catch (error) {
      if (created && error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /** One page of `shard`'s active credentials with `nextDueAt <= now`, earliest first. `limit` bounds the page (tests; default: DynamoDB's 1 MB). */
  async queryDue(shard: string, now: number, start?: Record<string, AttributeValue>, limit?: number): Promise<DuePage> {
    const answer = await this.dynamodb.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: DUE_INDEX,
        KeyConditionExpression: "#shard = :shard AND #due <= :now",
        ExpressionAttributeNames: { "#shard": A.dueShard, "#due": A.nextDueAt },
        ExpressionAttributeValues: { ":shard": { S: shard }, ":now": { N: String(now) } },
        ExclusiveStartKey: start,
        Limit: limit,
      }),
    );
    return { items: (answer.Items ?? []).map(itemFrom), ...(answer.LastEvaluatedKey && { next: answer.LastEvaluatedKey }) };
  }

  /**
   * Claims a due credential for one run: sets `retryAt = until` if the item is still active, still
   * due as `seen` saw it and not held (`retryAt` absent or past at `now`). Of two schedulers that
   * read the same item, exactly one gets true and enqueues it.
   */
  async markEnqueued(seen: Pick<RegistryItem, "credential" | "nextDueAt">, until: number, now: number): Promise<boolean> {
    return this.conditionally(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: keyOf(seen.credential),
        UpdateExpression: "SET #retry = :until",
        ConditionExpression: "#status = :active AND #due = :seen AND (attribute_not_exists(#retry) OR #retry <= :now)",
        ExpressionAttributeNames: { "#retry": A.retryAt, "#status": A.status, "#due": A.nextDueAt },
        ExpressionAttributeValues: { ":until": { N: String(until) }, ":active": { S: "active" }, ":seen": { N: String(seen.nextDueAt) }, ":now": { N: String(now) } },
      }),
    );
  }

  /** Gives back a claim whose message could not be sent: due again at the next schedule, unless a run recorded meanwhile. */
  async releaseEnqueued(credential: string, until: number): Promise<boolean> {
    return this.conditionally(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: keyOf(credential),
        UpdateExpression: "REMOVE #retry",
        ConditionExpression: "#retry = :until",
        ExpressionAttributeNames: { "#retry": A.retryAt },
        ExpressionAttributeValues: { ":until": { N: String(until) } },
      }),
    );
  }

  /** Records that the scheduler paged for the credential as overdue; true only for the first call of an episode (one page per episode). */
  async markOverdue(credential: string, now: number): Promise<boolean> {
    return this.conditionally(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: keyOf(credential),
        UpdateExpression: "SET #overdue = :now",
        ConditionExpression: "attribute_exists(#key) AND attribute_not_exists(#overdue)",
        ExpressionAttributeNames: { "#key": REGISTRY_KEY, "#overdue": A.overdueSince },
        ExpressionAttributeValues: { ":now": { N: String(now) } },
      }),
    );
  }

  /**
   * Records a run: its outcome, the next due time and expiry it saw, and the retry time (removed when
   * there is none, which ends the in-flight claim). A credential no longer due ends its overdue
   * episode. Never recreates a deleted item nor changes the status: false when the item is gone.
   */
  async recordRun(credential: string, run: RunRecord): Promise<boolean> {
    const names: Record<string, string> = { "#key": REGISTRY_KEY, "#outcome": A.lastOutcome, "#reason": A.lastReason, "#runAt": A.lastRunAt, "#retry": A.retryAt };
    const values: Record<string, AttributeValue> = { ":outcome": { S: run.outcome }, ":reason": { S: run.reason }, ":runAt": { N: String(run.at) } };
    const set = ["#outcome = :outcome", "#reason = :reason", "#runAt = :runAt"];
    const remove: string[] = [];
    if (run.stored) {
      names["#due"] = A.nextDueAt;
      names["#expires"] = A.expiresAt;
      values[":due"] = { N: String(run.stored.nextDueAt) };
      set.push("#due = :due");
      if (run.stored.expiresAt === undefined) {
        remove.push("#expires");
      } else {
        values[":expires"] = { N: String(run.stored.expiresAt) };
        set.push("#expires = :expires");
      }
      if (run.stored.nextDueAt > run.at) {
        names["#overdue"] = A.overdueSince;
        remove.push("#overdue");
      }
    }
    if (run.retryAt !== undefined) {
      values[":retry"] = { N: String(run.retryAt) };
      set.push("#retry = :retry");
    } else {
      remove.push("#retry");
    }
    return this.conditionally(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: keyOf(credential),
        UpdateExpression: `SET ${set.join(", ")}${remove.length > 0 ? ` REMOVE ${remove.join(", ")}` : ""}`,
        ConditionExpression: "attribute_exists(#key)",
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }),
    );
  }

  /** Sends a conditional write: true when it applied, false when its condition did not hold. */
  private async conditionally(command: UpdateItemCommand): Promise<boolean> {
    try {
      await this.dynamodb.send(command);
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }
}

/** The credential spec an item holds, validated as at registration; a ConfigError names what an edited item broke. */
export function specOf(item: RegistryItem): CredentialSpec {
  const { credential, problems, unknownFields } = checkCredential(item.spec);
  if (credential && credential.name === item.credential) return credential;
  const lines = [...problems.map(({ field, problem }) => `${field} ${problem}`), ...unknownFields.map((key) => `${key} is not a credential setting`)];
  if (credential) lines.push(`name must be the item's key (${item.credential})`);
  throw new ConfigError(`registry item of ${item.credential} holds an invalid spec: ${lines.join("; ")}`, problems);
}

const keyOf = (credential: string): Record<string, AttributeValue> => ({ [REGISTRY_KEY]: { S: credential } });

function marshalSpec(registered: RegisteredSpec): Record<string, AttributeValue> {
  return Object.fromEntries(
    Object.entries(registered).map(([field, value]) => [field, typeof value === "number" ? { N: String(value) } : typeof value === "boolean" ? { BOOL: value } : { S: value }]),
  );
}

function unmarshalSpec(map: Record<string, AttributeValue> | undefined): RegisteredSpec {
  const spec: Record<string, string | number | boolean> = {};
  for (const [field, value] of Object.entries(map ?? {})) {
    if (value.S !== undefined) spec[field] = value.S;
    else if (value.N !== undefined) spec[field] = Number(value.N);
    else if (value.BOOL !== undefined) spec[field] = value.BOOL;
  }
  return spec;
}

function itemFrom(item: Record<string, AttributeValue>): RegistryItem {
  const text = (name: string) => item[name]?.S;
  const number = (name: string) => (item[name]?.N === undefined ? undefined : Number(item[name].N));
  const optional = <K extends keyof RegistryItem>(key: K, value: RegistryItem[K] | undefined) => (value === undefined ? {} : { [key]: value });
  return {
    credential: text(A.credential) ?? "",
    spec: unmarshalSpec(item[A.specMap]?.M),
    // As stored: a status this module does not know is passed on, not guessed.
    status: text(A.status) as CredentialStatus,
    ...optional("dueShard", text(A.dueShard)),
    nextDueAt: number(A.nextDueAt) ?? 0,
    ...optional("retryAt", number(A.retryAt)),
    ...optional("expiresAt", number(A.expiresAt)),
    ...optional("lastOutcome", text(A.lastOutcome)),
    ...optional("lastReason", text(A.lastReason)),
    ...optional("lastRunAt", number(A.lastRunAt)),
    ...optional("overdueSince", number(A.overdueSince)),
    ...optional("createdAt", number(A.createdAt)),
    ...optional("createdBy", text(A.createdBy)),
    ...optional("pausedAt", number(A.pausedAt)),
    ...optional("pausedBy", text(A.pausedBy)),
  };
}
