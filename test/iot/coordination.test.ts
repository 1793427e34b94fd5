import { spawn } from "node:child_process";
import { GetSecretValueCommand, ListSecretVersionIdsCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { afterEach, describe, expect, it } from "vitest";
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

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe("one refresh per credential at a time (spec step 3)", () => {
  it("two runs started together: one API call, one new pair version, no alarm", async () => {
    const { f, seeded } = await due();
    const results = await Promise.all([f.run(), f.run({ force: true })]);
    expect(results.map((r) => r.outcome).sort()).toEqual(["Refreshed", "Skipped"]);
    expect(results.find((r) => r.outcome === "Skipped")).toMatchObject({ reason: "busy", apiCalls: 0 });
    expect(f.platform.calls.refresh + f.platform.calls.login).toBe(1);
    expect(await f.storedPairIsCurrent()).toBe(true);
    const newPairs = (await allVersions(f.config.tokenSecretId)).filter((v) => v.json.accessToken && v.json.accessToken !== seeded.accessToken);
    expect(newPairs).toHaveLength(1);
    expect(newPairs[0]!.stages).toContain("AWSCURRENT");
    for (const line of f.telemetry.lines) expect(line).toMatchObject({ RefreshFailed: 0, CredentialRejected: 0, AppFrozen: 0 });
  });

  it("a manual refresh during a scheduled run's API call stops without calling the API", async () => {
    const { f } = await due();
    f.platform.failNext("slow", 1, { delayMs: 400 });
    const scheduled = f.run();
    await waitFor(() => f.platform.calls.refresh === 1);
    const manual = await f.run({ force: true });
    expect(manual).toMatchObject({ outcome: "Skipped", reason: "busy", apiCalls: 0 });
    expect(await scheduled).toMatchObject({ outcome: "Refreshed" });
    expect(f.platform.calls.refresh).toBe(1);
    expect(await f.storedPairIsCurrent()).toBe(true);
  });

  it("a lease left by a killed run blocks until it expires, then the next run proceeds", async () => {
    const { f } = await due({ config: { leaseSeconds: 2, runBudgetMs: 1_500, httpTimeoutMs: 1_000 } });
    f.platform.failNext("slow", 1, { delayMs: 5_000 });
    const child = spawn(process.execPath, ["--import", "tsx", "test/support/run-handler.ts"], {
      env: {
        ...process.env,
        CREDENTIAL_NAME: f.config.credentialName,
        CLIENT_SECRET_ID: f.config.clientSecretId,
        TOKEN_SECRET_ID: f.config.tokenSecretId,
        ENDPOINT_URL: f.config.endpointUrl,
        LEASE_SECONDS: "2",
        RUN_BUDGET_MS: "1500",
        HTTP_TIMEOUT_MS: "1000",
        EVENT_BUS_NAME: "",
      },
      stdio: "ignore",
    });
    await waitFor(() => f.platform.calls.refresh === 1);
    child.kill("SIGKILL");
    await new Promise((resolve) => child.once("exit", resolve));
    const { json } = await f.stored();
    expect(json.lease).toBeDefined();

    expect(await f.run()).toMatchObject({ outcome: "Skipped", reason: "busy", apiCalls: 0 });
    await waitFor(() => Date.parse((json.lease as { until: string }).until) < Date.now(), 5_000);
    const next = await f.run();
    expect(next).toMatchObject({ outcome: "Refreshed" });
    expect(await f.storedPairIsCurrent()).toBe(true);
    expect((await f.stored()).json).not.toHaveProperty("lease");
  }, 20_000);

  it("a run killed between storing and promoting its pair is completed by the next run, without an API call", async () => {
    const { f } = await due();
    // The crashing run's client dies at the second AWSCURRENT move (the lease is the first): the pair is stored, not promoted.
    const crashing = new SecretsManagerClient({});
    let moves = 0;
    crashing.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === "UpdateSecretVersionStageCommand" && ++moves === 2) throw new Error("process killed");
        return next(args);
      },
      { step: "initialize", name: "killSwitch" },
    );
    const crashed = await f.run({ secrets: crashing });
    expect(crashed.outcome).toBe("RefreshFailed");
    expect(f.platform.calls.refresh).toBe(1);
    expect(await f.storedPairIsCurrent()).toBe(false);

    const next = await f.run();
    expect(next).toMatchObject({ outcome: "Refreshed", reason: "completed-pending", apiCalls: 0 });
    expect(f.platform.calls.refresh + f.platform.calls.login).toBe(1);
    expect(await f.storedPairIsCurrent()).toBe(true);
  });
});

describe("idempotent write (ClientRequestToken)", () => {
  it("a PutSecretValue whose answer is lost is retried by the SDK without creating a second pair version", async () => {
    const { f, seeded } = await due();
    const flaky = new SecretsManagerClient({});
    let puts = 0;
    // Below the SDK's retry step: the request reaches moto, then the answer is "lost" once.
    flaky.middlewareStack.add(
      (next, context) => async (args) => {
        const answer = await next(args);
        if (context.commandName === "PutSecretValueCommand" && ++puts === 2) {
          throw Object.assign(new Error("socket hang up"), { name: "TimeoutError", $metadata: {} });
        }
        return answer;
      },
      { step: "deserialize", name: "loseOneAnswer" },
    );
    const result = await f.run({ secrets: flaky });
    expect(puts).toBeGreaterThan(2); // the lost write was sent again
    expect(result).toMatchObject({ outcome: "Refreshed", reason: "refreshed" });
    const newPairs = (await allVersions(f.config.tokenSecretId)).filter((v) => v.json.accessToken && v.json.accessToken !== seeded.accessToken);
    expect(newPairs).toHaveLength(1);
    expect(await f.storedPairIsCurrent()).toBe(true);
  });
});

describe("bad secret content", () => {
  it("a malformed token secret is a clear RefreshFailed and stays untouched", async () => {
    fixture = await IotFixture.start({ tokenSecret: '{"accessToken": 42, "refreshToken": "x"}' });
    const before = await fixture.stored();
    const result = await fixture.run();
    expect(result).toMatchObject({ outcome: "RefreshFailed", reason: "SecretFormatError", apiCalls: 0 });
    expect(result.message).toBe("SecretFormatError: token secret: accessToken must be a string, got number");
    const after = await fixture.stored();
    expect(after).toEqual(before);
    expect(fixture.platform.calls.total).toBe(0);
    expect(fixture.telemetry.last()).toMatchObject({ RefreshFailed: 1 });
  });

  it("a token secret that is not JSON is named as such", async () => {
    fixture = await IotFixture.start({ tokenSecret: "eyJhbGciOi-not-json" });
    const result = await fixture.run();
    expect(result.message).toBe("SecretFormatError: token secret: SecretString is not valid JSON");
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
