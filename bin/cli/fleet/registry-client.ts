// The fleet's registry table as the CLI reads and writes it: one item per credential, with exactly
// the attributes of docs/fleet.md ("Registry item"). Written against that contract ahead of the fleet
// runtime's own registry module (lambda/fleet/registry.ts), whose intent-level methods — register,
// read, list, set the status, delete — are meant to replace this one.
import { createHash } from "node:crypto";
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from "@aws-sdk/client-dynamodb";

/** Shards of the sparse `due` index (docs/fleet.md): `due#0` … `due#7`. */
export const DUE_SHARDS = 8;
export const STATUSES = ["active", "paused", "removing"] as const;
export type CredentialStatus = (typeof STATUSES)[number];

/** A credential spec as stored: a plain object of strings and numbers in canonical units, without defaults. */
export type StoredSpec = Readonly<Record<string, string | number>>;

/** One credential's item. Times are epoch ms on AWS's clock. */
export interface RegistryItem {
  readonly credential: string;
  readonly spec: StoredSpec;
  readonly status: CredentialStatus;
  /** Present only while active: the item is in the `due` index. */
  readonly dueShard?: string;
  readonly nextDueAt: number;
  readonly retryAt?: number;
  readonly expiresAt?: number;
  readonly lastOutcome?: string;
  readonly lastReason?: string;
  readonly lastRunAt?: number;
  readonly createdAt?: number;
  readonly createdBy?: string;
  readonly pausedAt?: number;
  readonly pausedBy?: string;
}

/** Who changed an item, and when (AWS's clock). */
export interface Change {
  readonly at: number;
  readonly by: string;
}

/** How a status change ended: the item as it is now, or why there is none to change. */
export type StatusChange = { readonly kind: "set"; readonly item: RegistryItem } | { readonly kind: "missing" } | { readonly kind: "removing" };

/** The `due` index shard of a credential: spreads the index's writes and the scheduler's queries. */
export function dueShardOf(credential: string): string {
  return `due#${createHash("sha256").update(credential).digest().readUInt32BE(0) % DUE_SHARDS}`;
}

export class RegistryClient {
  constructor(
    private readonly dynamodb: DynamoDBClient,
    readonly tableName: string,
  ) {}

  /**
   * Registers a new credential, active and due at once. Returns false when the name is taken. A
   * retry of this very write (its answer lost) finds its own item and counts as registered.
   */
  async register(credential: string, spec: StoredSpec, created: Change): Promise<boolean> {
    const item: Record<string, AttributeValue> = {
      credential: { S: credential },
      spec: { M: Object.fromEntries(Object.entries(spec).map(([key, value]) => [key, typeof value === "number" ? num(value) : { S: value }])) },
      status: { S: "active" },
      dueShard: { S: dueShardOf(credential) },
      nextDueAt: num(0),
      createdAt: num(created.at),
      createdBy: { S: created.by },
    };
    try {
      await this.dynamodb.send(new PutItemCommand({ TableName: this.tableName, Item: item, ConditionExpression: "attribute_not_exists(credential)" }));
      return true;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const existing = await this.read(credential);
      return existing?.createdAt === created.at && existing.createdBy === created.by;
    }
  }

  async read(credential: string): Promise<RegistryItem | undefined> {
    const answer = await this.dynamodb.send(new GetItemCommand({ TableName: this.tableName, Key: this.key(credential), ConsistentRead: true }));
    return answer.Item && fromItem(answer.Item);
  }

  /** Every credential, a page (one Scan answer) at a time; the table's other items (the write budget's) are left out. */
  async *pages(pageSize?: number): AsyncGenerator<RegistryItem[]> {
    let start: Record<string, AttributeValue> | undefined;
    do {
      const answer = await this.dynamodb.send(
        new ScanCommand({
          TableName: this.tableName,
          ConsistentRead: true,
          FilterExpression: "attribute_exists(#spec)",
          ExpressionAttributeNames: { "#spec": "spec" },
          ...(pageSize && { Limit: pageSize }),
          ...(start && { ExclusiveStartKey: start }),
        }),
      );
      yield (answer.Items ?? []).map(fromItem);
      start = answer.LastEvaluatedKey;
    } while (start);
  }

  /**
   * Sets the status and keeps the sparse `due` index with it: `active` puts the item back in the
   * index (from its `nextDueAt`), `paused` (recording who and when) and `removing` take it out. Only
   * `removing` applies to an item that is being removed.
   */
  async setStatus(credential: string, status: CredentialStatus, change: Change): Promise<StatusChange> {
    const values: Record<string, AttributeValue> = { ":status": { S: status } };
    let update: string;
    if (status === "active") {
      update = "SET #status = :status, dueShard = :shard REMOVE pausedAt, pausedBy";
      values[":shard"] = { S: dueShardOf(credential) };
    } else if (status === "paused") {
      update = "SET #status = :status, pausedAt = :at, pausedBy = :by REMOVE dueShard";
      Object.assign(values, { ":at": num(change.at), ":by": { S: change.by } });
    } else {
      update = "SET #status = :status REMOVE dueShard";
    }
    const guard = status === "removing" ? "" : " AND #status <> :removing";
    if (guard) values[":removing"] = { S: "removing" };
    try {
      const answer = await this.dynamodb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.key(credential),
          UpdateExpression: update,
          ConditionExpression: `attribute_exists(credential)${guard}`,
          ExpressionAttributeNames: { "#status": "status" },
          ExpressionAttributeValues: values,
          ReturnValues: "ALL_NEW",
        }),
      );
      return { kind: "set", item: fromItem(answer.Attributes!) };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      return (await this.read(credential)) ? { kind: "removing" } : { kind: "missing" };
    }
  }

  /**
   * Deletes the item; with `created`, only the item that registration wrote (undoing an add never
   * deletes another's). Returns false when that item is not there.
   */
  async delete(credential: string, created?: Change): Promise<boolean> {
    try {
      await this.dynamodb.send(
        new DeleteItemCommand({
          TableName: this.tableName,
          Key: this.key(credential),
          ...(created && {
            ConditionExpression: "createdAt = :at AND createdBy = :by",
            ExpressionAttributeValues: { ":at": num(created.at), ":by": { S: created.by } },
          }),
        }),
      );
      return true;
    } catch (error) {
      if (created && error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  private key(credential: string): Record<string, AttributeValue> {
    return { credential: { S: credential } };
  }
}

const num = (value: number): AttributeValue => ({ N: String(value) });

function fromItem(item: Record<string, AttributeValue>): RegistryItem {
  const text = (name: string) => item[name]?.S;
  const number = (name: string) => (item[name]?.N === undefined ? undefined : Number(item[name].N));
  const spec: Record<string, string | number> = {};
  for (const [key, value] of Object.entries(item.spec?.M ?? {})) {
    if (value.S !== undefined) spec[key] = value.S;
    else if (value.N !== undefined) spec[key] = Number(value.N);
  }
  const optional = <K extends keyof RegistryItem>(key: K, value: RegistryItem[K] | undefined) => (value === undefined ? {} : { [key]: value });
  return {
    credential: text("credential") ?? "",
    spec,
    // As stored: a status this client does not know is shown, not guessed.
    status: text("status") as CredentialStatus,
    nextDueAt: number("nextDueAt") ?? 0,
    ...optional("dueShard", text("dueShard")),
    ...optional("retryAt", number("retryAt")),
    ...optional("expiresAt", number("expiresAt")),
    ...optional("lastOutcome", text("lastOutcome")),
    ...optional("lastReason", text("lastReason")),
    ...optional("lastRunAt", number("lastRunAt")),
    ...optional("createdAt", number("createdAt")),
    ...optional("createdBy", text("createdBy")),
    ...optional("pausedAt", number("pausedAt")),
    ...optional("pausedBy", text("pausedBy")),
  };
}
