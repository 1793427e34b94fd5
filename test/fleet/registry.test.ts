// The fleet registry against moto (behind the suite's AWS front, which serializes a table's writes as
// DynamoDB applies them): registration, status, the sparse due index and its pages, the scheduler's
// claim, a run's record.
import { DynamoDBClient, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../lambda/errors.js";
import { CredentialExistsError, CredentialRemovingError, DUE_SHARD_KEYS, Registry, UnknownCredentialError, dueShardOf, specOf, type RegistryItem } from "../../lambda/fleet/registry.js";
import { REGISTRY_KEY, WRITE_BUDGET_KEY_PREFIX } from "../../lambda/settings.js";
import { uniqueName } from "../support/aws.js";
import { createRegistryTable } from "../support/fleet.js";

const dynamodb = new DynamoDBClient({});
const operator = { principal: "arn:aws:iam::123456789012:role/operator", at: 1_700_000_000_000 };
let registry: Registry;

beforeAll(async () => {
  registry = new Registry(dynamodb, await createRegistryTable(uniqueName("registry"), dynamodb));
});

const plainSpec = (name = uniqueName("cred")) => ({
  name,
  dialect: "oauth2",
  clientSecretId: `token-refresher/fleet/${name}/client`,
  tokenSecretId: `token-refresher/fleet/${name}/token`,
  endpointUrl: "https://auth.example.com",
  refreshWindowSeconds: 600,
});

/** Every due credential of every shard, pages of `limit`. */
async function allDue(now: number, limit?: number, from: Registry = registry): Promise<RegistryItem[]> {
  const items: RegistryItem[] = [];
  for (const shard of DUE_SHARD_KEYS) {
    let start: Awaited<ReturnType<Registry["queryDue"]>>["next"];
    do {
      const page = await from.queryDue(shard, now, start, limit);
      items.push(...page.items);
      start = page.next;
    } while (start);
  }
  return items;
}

describe("registration", () => {
  it("stores the spec as given (no defaults), active and due at once, in its due shard", async () => {
    const plain = plainSpec();
    const credential = await registry.register(plain, operator);
    expect(credential).toMatchObject({ name: plain.name, dialect: "oauth2", oauth2TokenPath: "/api/v1/oauth2/token" });
    const item = await registry.read(plain.name);
    expect(item).toEqual({ credential: plain.name, spec: plain, status: "active", dueShard: dueShardOf(plain.name), nextDueAt: 0, createdAt: operator.at, createdBy: operator.principal });
    expect(specOf(item!)).toEqual(credential);
    const shard = await registry.queryDue(dueShardOf(plain.name), operator.at);
    expect(shard.items.map((due) => due.credential)).toContain(plain.name);
  });

  it("refuses a second registration of a name and leaves the first untouched", async () => {
    const plain = plainSpec();
    await registry.register(plain, operator);
    const error = await registry.register({ ...plain, endpointUrl: "https://other.example.com" }, { ...operator, at: operator.at + 1 }).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(CredentialExistsError);
    expect(error).toMatchObject({ credential: plain.name, kind: "config" });
    expect((await registry.read(plain.name))?.spec.endpointUrl).toBe("https://auth.example.com");
    // The same registration sent again (its first answer lost) finds its own item: registered.
    await expect(registry.register(plain, operator)).resolves.toMatchObject({ name: plain.name });
  });

  it("validates with the settings' rule set, naming every bad field, and writes nothing", async () => {
    const plain = { ...plainSpec(), endpointUrl: "http://auth.example.com", refreshWindowSeconds: -1, colour: "blue" };
    const error = await registry.register(plain, operator).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.map((problem) => problem.field).sort()).toEqual(["endpointUrl", "refreshWindowSeconds"]);
    expect((error as ConfigError).message).toContain("colour is not a credential setting");
    expect(await registry.read(plain.name)).toBeUndefined();
  });

  it("an item edited into an invalid spec is refused when read back as a spec, naming the field", async () => {
    const plain = plainSpec();
    await registry.register(plain, operator);
    const item = await registry.read(plain.name);
    expect(() => specOf({ ...item!, spec: { ...item!.spec, endpointUrl: "http://plain.example.com" } })).toThrow(/endpointUrl/);
    expect(() => specOf({ ...item!, spec: { ...item!.spec, name: "someone-else" } })).toThrow(ConfigError);
  });
});

describe("status, listing and removal", () => {
  it("pausing takes a credential out of the due index and records who; resuming puts it back, due as it was", async () => {
    const plain = plainSpec();
    await registry.register(plain, operator);
    const paused = await registry.setStatus(plain.name, "paused", { principal: "arn:aws:iam::123456789012:user/ana", at: 5 });
    expect(paused).toMatchObject({ status: "paused", pausedBy: "arn:aws:iam::123456789012:user/ana", pausedAt: 5 });
    expect((await allDue(operator.at)).map((item) => item.credential)).not.toContain(plain.name);
    const resumed = await registry.setStatus(plain.name, "active", operator);
    expect(resumed.status).toBe("active");
    expect(resumed.pausedBy).toBeUndefined();
    expect((await allDue(operator.at)).map((item) => item.credential)).toContain(plain.name);
    await registry.setStatus(plain.name, "removing", operator);
    expect((await allDue(operator.at)).map((item) => item.credential)).not.toContain(plain.name);
  });

  it("setting the status of an unknown credential fails with UnknownCredentialError and creates nothing", async () => {
    const name = uniqueName("ghost");
    await expect(registry.setStatus(name, "paused", operator)).rejects.toBeInstanceOf(UnknownCredentialError);
    expect(await registry.read(name)).toBeUndefined();
  });

  it("a credential being removed stays removing: no pause or resume brings it back into the due index", async () => {
    const plain = plainSpec();
    await registry.register(plain, operator);
    await registry.setStatus(plain.name, "removing", operator);
    for (const status of ["active", "paused"] as const) await expect(registry.setStatus(plain.name, status, operator)).rejects.toBeInstanceOf(CredentialRemovingError);
    expect(await registry.read(plain.name)).toMatchObject({ status: "removing" });
    expect((await registry.read(plain.name))!.dueShard).toBeUndefined();
  });

  it("lists credentials by name, never the write budget's items; delete removes one", async () => {
    const own = new Registry(dynamodb, await createRegistryTable(uniqueName("registry"), dynamodb));
    for (const name of ["b-cred", "a-cred", "c-cred"]) await own.register(plainSpec(name), operator);
    await dynamodb.send(new PutItemCommand({ TableName: own.tableName, Item: { [REGISTRY_KEY]: { S: `${WRITE_BUDGET_KEY_PREFIX}1700000000` }, used: { N: "4" } } }));
    expect((await own.list()).map((item) => item.credential)).toEqual(["a-cred", "b-cred", "c-cred"]);
    const pages: string[][] = [];
    for await (const page of own.pages(2)) pages.push(page.map((item) => item.credential));
    expect(pages.length).toBeGreaterThanOrEqual(2);
    expect(pages.flat().sort()).toEqual(["a-cred", "b-cred", "c-cred"]);
    // Only the registration's own item is deleted by an add undoing itself.
    expect(await own.delete("b-cred", { ...operator, principal: "arn:aws:iam::123456789012:user/someone-else" })).toBe(false);
    expect(await own.delete("b-cred", operator)).toBe(true);
    expect(await own.delete("b-cred")).toBe(false);
    expect((await own.list()).map((item) => item.credential)).toEqual(["a-cred", "c-cred"]);
  });
});

describe("the due index", () => {
  it("pages through every shard and finds each due credential once, and none that is not due yet", async () => {
    const own = new Registry(dynamodb, await createRegistryTable(uniqueName("registry"), dynamodb));
    const names = Array.from({ length: 40 }, (_, i) => `due-${String(i).padStart(2, "0")}`);
    for (const name of names) await own.register(plainSpec(name), operator);
    await own.recordRun("due-07", { outcome: "Refreshed", reason: "refreshed", at: 1_000, stored: { nextDueAt: 5_000, expiresAt: 6_000 } });
    const due = await allDue(4_999, 3, own);
    expect(due.map((item) => item.credential).sort()).toEqual(names.filter((name) => name !== "due-07"));
    expect(new Set(names.map(dueShardOf)).size).toBeGreaterThan(4);
    expect((await allDue(5_000, undefined, own)).map((item) => item.credential)).toContain("due-07");
  });
});

describe("the scheduler's claim", () => {
  it("of two schedulers claiming a due credential at once, exactly one gets it; the claim holds until it expires", async () => {
    const plain = plainSpec();
    await registry.register(plain, operator);
    const seen = (await registry.read(plain.name))!;
    const claims = await Promise.all([registry.markEnqueued(seen, 2_000, 1_000), registry.markEnqueued(seen, 2_000, 1_000)]);
    expect(claims.filter(Boolean)).toHaveLength(1);
    expect(await registry.markEnqueued(seen, 3_000, 1_999)).toBe(false);
    expect(await registry.markEnqueued(seen, 3_000, 2_000)).toBe(true);
    // Released (its message could not be sent): free again at once, unless someone else claimed meanwhile.
    expect(await registry.releaseEnqueued(plain.name, 2_999)).toBe(false);
    expect(await registry.releaseEnqueued(plain.name, 3_000)).toBe(true);
    expect(await registry.markEnqueued(seen, 4_000, 2_100)).toBe(true);
  });

  it("a claim made from a stale read (a run recorded meanwhile) or on a paused credential fails", async () => {
    const plain = plainSpec();
    await registry.register(plain, operator);
    const seen = (await registry.read(plain.name))!;
    await registry.recordRun(plain.name, { outcome: "Refreshed", reason: "refreshed", at: 1_000, stored: { nextDueAt: 2_000_000, expiresAt: 2_600_000 } });
    expect(await registry.markEnqueued(seen, 9_000, 1_000)).toBe(false);
    const current = (await registry.read(plain.name))!;
    await registry.setStatus(plain.name, "paused", operator);
    expect(await registry.markEnqueued(current, 9_000, 3_000_000)).toBe(false);
  });
});

describe("a run's record", () => {
  it("sets the outcome, due time and expiry, ends the claim and an overdue episode once no longer due", async () => {
    const plain = plainSpec();
    await registry.register(plain, operator);
    await registry.markEnqueued((await registry.read(plain.name))!, 50_000, 1_000);
    expect(await registry.markOverdue(plain.name, 1_000)).toBe(true);
    expect(await registry.markOverdue(plain.name, 2_000)).toBe(false);
    await registry.recordRun(plain.name, { outcome: "RefreshFailed", reason: "NetworkError", at: 3_000, stored: { nextDueAt: 2_000, expiresAt: 2_500 }, retryAt: 303_000 });
    expect(await registry.read(plain.name)).toMatchObject({ lastOutcome: "RefreshFailed", nextDueAt: 2_000, expiresAt: 2_500, retryAt: 303_000, overdueSince: 1_000 });
    await registry.recordRun(plain.name, { outcome: "Refreshed", reason: "refreshed", at: 4_000, stored: { nextDueAt: 900_000, expiresAt: 1_800_000 } });
    const item = (await registry.read(plain.name))!;
    expect(item).toMatchObject({ lastOutcome: "Refreshed", lastReason: "refreshed", lastRunAt: 4_000, nextDueAt: 900_000, expiresAt: 1_800_000 });
    expect(item.retryAt).toBeUndefined();
    expect(item.overdueSince).toBeUndefined();
  });

  it("a run that saw a pair without expiry clears the stored expiry; one that saw no pair keeps what the item had", async () => {
    const plain = plainSpec();
    await registry.register(plain, operator);
    await registry.recordRun(plain.name, { outcome: "Refreshed", reason: "refreshed", at: 1_000, stored: { nextDueAt: 5_000, expiresAt: 6_000 } });
    await registry.recordRun(plain.name, { outcome: "RefreshFailed", reason: "AccessDeniedException", at: 2_000 });
    expect(await registry.read(plain.name)).toMatchObject({ nextDueAt: 5_000, expiresAt: 6_000 });
    await registry.recordRun(plain.name, { outcome: "RefreshFailed", reason: "NeedsInitialRefreshTokenError", at: 3_000, stored: { nextDueAt: 3_000 } });
    const item = (await registry.read(plain.name))!;
    expect(item.nextDueAt).toBe(3_000);
    expect(item.expiresAt).toBeUndefined();
  });

  it("never brings back a credential deleted while its run was in flight", async () => {
    const plain = plainSpec();
    await registry.register(plain, operator);
    await registry.delete(plain.name);
    expect(await registry.recordRun(plain.name, { outcome: "Refreshed", reason: "refreshed", at: 1, stored: { nextDueAt: 2 } })).toBe(false);
    expect(await registry.markOverdue(plain.name, 1)).toBe(false);
    expect(await registry.read(plain.name)).toBeUndefined();
  });
});
