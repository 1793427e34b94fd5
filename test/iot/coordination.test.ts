import { GetSecretValueCommand, ListSecretVersionIdsCommand, PutSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import { setTimeout as sleep } from "node:timers/promises";
import { AWS_CLOCK_RESOLUTION_MS } from "../../lambda/clock.js";
import { pairVersionId } from "../../lambda/protocol/write-protocol.js";
import { PENDING_STAGE } from "../../lambda/secrets/token-store.js";
import { afterEach, describe, expect, it, vi } from "vitest";
import { secretsClient, uniqueName } from "../support/aws.js";
import { IotFixture } from "../support/iot-fixture.js";
import { createSecret } from "../support/aws.js";

let fixture: IotFixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

async function due(options: Parameters<typeof IotFixture.start>[0] = {}) {
  fixture = await IotFixture.start(options);
  const seeded = await fixture.seed(60);
  fixture.platform.reset();
  return { f: fixture, seeded };
}

/** Every version of the token secret, parsed. */
async function allVersions(secretId: string) {
  const client = secretsClient();
  const list = await client.send(new ListSecretVersionIdsCommand({ SecretId: secretId, IncludeDeprecated: true }));
  return Promise.all(
    (list.Versions ?? []).map(async (v) => {
      const value = await client.send(new GetSecretValueCommand({ SecretId: secretId, VersionId: v.VersionId }));
      return { versionId: v.VersionId!, stages: v.VersionStages ?? [], json: JSON.parse(value.SecretString!) as Record<string, unknown> };
    }),
  );
}

describe("one refresh per credential at a time (spec step 3)", () => {
  it("two runs started together: one API call, one new pair version, no alarm", async () => {
    const { f, seeded } = await due();
    const results = await Promise.all([f.run(), f.run({ force: true })]);
    expect(results.map((r) => r.outcome).sort()).toEqual(["Refreshed", "Skipped"]);
    expect(results.find((r) => r.outcome === "Skipped")).toMatchObject({ reason: "busy", apiCalls: 0 });
    expect(f.platform.calls.refresh + f.platform.calls.login).toBe(1);
    expect(await f.storedPairIsCurrent()).toBe(true);
    const newPairs = (await allVersions(f.config.credential.tokenSecretId)).filter((v) => v.json.accessToken && v.json.accessToken !== seeded.accessToken);
    expect(newPairs).toHaveLength(1);
    expect(newPairs[0]!.stages).toContain("AWSCURRENT");
    for (const line of f.telemetry.lines) expect(line).toMatchObject({ RefreshFailed: 0, CredentialRejected: 0, AppFrozen: 0 });
  });

  it("a manual refresh during a scheduled run's API call stops without calling the API", async () => {
    const { f } = await due();
    f.platform.failNext("slow", 1, { delayMs: 400 });
    const scheduled = f.run();
    await vi.waitFor(() => expect(f.platform.calls.refresh).toBe(1), { interval: 10 });
    const manual = await f.run({ force: true });
    expect(manual).toMatchObject({ outcome: "Skipped", reason: "busy", apiCalls: 0 });
    expect(await scheduled).toMatchObject({ outcome: "Refreshed" });
    expect(f.platform.calls.refresh).toBe(1);
    expect(await f.storedPairIsCurrent()).toBe(true);
  });

  // The lease's expiry is AWS's time (lambda/clock.ts): a host whose clock is off cannot take over
  // a live lease, nor leave one that expires early. Either host may start first.
  it.for([
    [-90, "skewed first"],
    [-90, "skewed second"],
    [90, "skewed first"],
    [90, "skewed second"],
  ] as const)("a CLI run with a clock %i s off overlapping a scheduled run (%s): one platform call, a working pair", async ([skewSeconds, order]) => {
    const { f } = await due();
    const skewed = () => Date.now() + skewSeconds * 1000;
    f.platform.failNext("slow", 1, { delayMs: 400 });
    const [firstHost, secondHost] = order === "skewed first" ? [skewed, Date.now] : [Date.now, skewed];
    const first = f.run({ localNow: firstHost });
    await vi.waitFor(() => expect(f.platform.calls.refresh).toBe(1), { interval: 10 });
    const second = await f.run({ localNow: secondHost, force: true });
    expect(second).toMatchObject({ outcome: "Skipped", reason: "busy", apiCalls: 0 });
    expect(await first).toMatchObject({ outcome: "Refreshed" });
    expect(f.platform.calls.refresh + f.platform.calls.login).toBe(1);
    expect(await f.storedPairIsCurrent()).toBe(true);
    // expiresAt, too, is AWS's time, not the skewed host's.
    const expiresAt = Date.parse((await f.stored()).json.expiresAt as string);
    expect(Math.abs(expiresAt - (Date.now() + 3600_000))).toBeLessThan(5_000);
  });
});

describe("a crashed run's stored pair (pending completion)", () => {
  it("a late writer cannot lose it: the next run promotes the newest pair", async () => {
    const { f } = await due({ config: { leaseSeconds: 2, runBudgetMs: 1_500, httpTimeoutMs: 1_000 } });
    // A run that stored its pair and died before promoting it: the promotion never arrives.
    const crashing = secretsClient();
    crashing.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === "UpdateSecretVersionStageCommand") throw Object.assign(new Error("killed"), { name: "AccessDeniedException", $fault: "client" });
        return next(args);
      },
      { step: "initialize", name: "killBeforePromotion" },
    );
    const crashed = await f.run({ secrets: crashing, runId: "11111111-1111-4111-8111-111111111111" });
    expect(crashed).toMatchObject({ outcome: "RefreshFailed", reason: "PromotionPendingError" });
    // A late writer moves the pending label onto its own version (the first protocol located pairs by it).
    await secretsClient().send(
      new PutSecretValueCommand({ SecretId: f.config.credential.tokenSecretId, SecretString: "{}", VersionStages: [PENDING_STAGE] }),
    );
    f.platform.reset();
    const next = await f.run();
    expect(next).toMatchObject({ outcome: "Refreshed", reason: "completed-pending", apiCalls: 0 });
    expect(next.versionId).toBe(pairVersionId("11111111-1111-4111-8111-111111111111"));
    expect(await f.storedPairIsCurrent()).toBe(true);
  });

  it("a stored pair older than the current one is not promoted over it", async () => {
    const { f } = await due({ config: { leaseSeconds: 2, runBudgetMs: 1_500, httpTimeoutMs: 1_000 } });
    const crashing = secretsClient();
    crashing.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === "UpdateSecretVersionStageCommand") throw Object.assign(new Error("killed"), { name: "AccessDeniedException", $fault: "client" });
        return next(args);
      },
      { step: "initialize", name: "killBeforePromotion" },
    );
    expect(await f.run({ secrets: crashing })).toMatchObject({ reason: "PromotionPendingError" });
    // Later (by more than AWS's clock resolution), an operator stored a newer pair (a login of their own).
    await sleep(AWS_CLOCK_RESOLUTION_MS);
    const newer = await f.seed(3600);
    const next = await f.run();
    expect(next).toMatchObject({ outcome: "Skipped", reason: "not-due", apiCalls: 0 });
    expect((await f.stored()).json.accessToken).toBe(newer.accessToken);
    expect(await f.storedPairIsCurrent()).toBe(true);
  });
});

describe("bad secret content", () => {
  it("a malformed token secret is a clear RefreshFailed and stays untouched", async () => {
    fixture = await IotFixture.start({ tokenSecret: '{"accessToken": 42, "refreshToken": "x"}' });
    const before = await fixture.stored();
    const result = await fixture.run();
    expect(result).toMatchObject({ outcome: "RefreshFailed", reason: "SecretFormatError", apiCalls: 0 });
    expect(result.message).toBe(`SecretFormatError: token secret ${fixture.config.credential.tokenSecretId}: accessToken must be a string, got number`);
    const after = await fixture.stored();
    expect(after).toEqual(before);
    expect(fixture.platform.calls.total).toBe(0);
    expect(fixture.telemetry.last()).toMatchObject({ RefreshFailed: 1 });
  });

  it("a token secret that is not JSON is named as such", async () => {
    fixture = await IotFixture.start({ tokenSecret: "eyJhbGciOi-not-json" });
    const result = await fixture.run();
    expect(result.message).toBe(`SecretFormatError: token secret ${fixture.config.credential.tokenSecretId}: SecretString is not valid JSON`);
    expect((await fixture.stored()).text).toBe("eyJhbGciOi-not-json");
  });

  it.each([
    [{ appId: "" }, "client secret: appId is required and must be a non-empty string"],
    [{ secret: 12345 }, "client secret: secret must be a string, got number"],
    [{ caCertificate: "not pem" }, "client secret: caCertificate must be PEM text starting with -----BEGIN CERTIFICATE"],
    [{ clientKey: undefined }, "client secret: clientKey is required when the other half of the client certificate is set"],
  ])("a client secret with %o names the field, and nothing is written", async (override, message) => {
    fixture = await IotFixture.start({ clientSecret: override });
    const before = await fixture.stored();
    const result = await fixture.run();
    expect(result).toMatchObject({ outcome: "RefreshFailed", reason: "SecretFormatError" });
    expect(result.message).toContain(message);
    expect(await fixture.stored()).toEqual(before);
  });

  it("a token secret id that does not exist is a clear error", async () => {
    fixture = await IotFixture.start({ config: { tokenSecretId: uniqueName("missing") } });
    const result = await fixture.run();
    expect(result.outcome).toBe("RefreshFailed");
    expect(result.message).toMatch(/token secret missing-\w+ was not found or has no AWSCURRENT value/);
  });

  it("a client secret that is binary-only is rejected by name", async () => {
    const name = uniqueName("client");
    await createSecret(name, "{}");
    fixture = await IotFixture.start({ config: { clientSecretId: name } });
    const result = await fixture.run();
    expect(result.message).toContain("client secret: appId is required");
  });
});
