// The fleet's per-second budget of Secrets Manager writes (docs/fleet.md, "Pacing"): one item per
// second of AWS's clock in the registry table, incremented by a conditional write that fails once the
// second's budget is spent. The scheduler spreads the work; this is what holds when a backlog of
// messages is released at once.
import { setTimeout as sleep } from "node:timers/promises";
import { ConditionalCheckFailedException, UpdateItemCommand, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { AwsClock } from "../clock.js";
import { REGISTRY_KEY, REGISTRY_TTL_ATTRIBUTE, WRITE_BUDGET_KEY_PREFIX } from "../settings.js";
import { BUDGET_USED_ATTRIBUTE } from "./schema.js";

/** A budget item outlives its second by this much, then DynamoDB's TTL removes it. */
const BUDGET_ITEM_TTL_SECONDS = 120;
/** A spent second is retried this much after the next one starts, spread so that waiting workers do not all write at once. */
const RETRY_SPREAD_MS = 200;

export interface WriteBudgetOptions {
  readonly localNow?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
}

/**
 * Takes writes from the current second's budget. Its client needs only `UpdateItem` on the registry
 * table's `#budget#…` items (a run's session: the run role's one grant beyond its own credential's
 * items); a credential's name never starts with `#`, so the grant reaches no credential's item. The
 * client must be watched by `clock` (lambda/aws-clients.ts), whose AWS time names the second.
 */
export class WriteBudget {
  private readonly localNow: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;

  constructor(
    private readonly dynamodb: DynamoDBClient,
    private readonly tableName: string,
    /** Secrets Manager writes per second of AWS's clock. */
    readonly writesPerSecond: number,
    private readonly clock: AwsClock,
    options: WriteBudgetOptions = {},
  ) {
    this.localNow = options.localNow ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => sleep(ms));
    this.random = options.random ?? Math.random;
  }

  /**
   * Takes `writes` from this second's budget (AWS's clock), waiting for the next second while this
   * one is spent, until `deadline` (local epoch ms). True when taken; false when the deadline came first.
   */
  async take(writes: number, deadline: number): Promise<boolean> {
    for (;;) {
      const second = Math.floor(this.clock.nowOrLocal() / 1000);
      if (await this.tryTake(second, writes)) return true;
      // The answer set the clock: wait for AWS's next second, spread a little.
      const wait = (second + 1) * 1000 - this.clock.now() + Math.floor(this.random() * RETRY_SPREAD_MS);
      if (this.localNow() + Math.max(0, wait) >= deadline) return false;
      await this.sleep(Math.max(0, wait));
    }
  }

  private async tryTake(second: number, writes: number): Promise<boolean> {
    try {
      await this.dynamodb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { [REGISTRY_KEY]: { S: `${WRITE_BUDGET_KEY_PREFIX}${second}` } },
          UpdateExpression: "SET #ttl = :ttl ADD #used :writes",
          ConditionExpression: "attribute_not_exists(#used) OR #used <= :most",
          ExpressionAttributeNames: { "#used": BUDGET_USED_ATTRIBUTE, "#ttl": REGISTRY_TTL_ATTRIBUTE },
          ExpressionAttributeValues: {
            ":writes": { N: String(writes) },
            ":most": { N: String(this.writesPerSecond - writes) },
            ":ttl": { N: String(second + BUDGET_ITEM_TTL_SECONDS) },
          },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }
}
