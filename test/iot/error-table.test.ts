import { afterEach, describe, expect, it } from "vitest";
import { IotFixture } from "../support/iot-fixture.js";
import type { FailureKind } from "../../bin/local/iot-platform.js";

let fixture: IotFixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

/** A fixture holding a due pair, so the next run calls refreshToken. */
async function due(options: Parameters<typeof IotFixture.start>[0] = {}) {
  fixture = await IotFixture.start(options);
  const seeded = await fixture.seed(60);
  const before = await fixture.stored();
  fixture.platform.reset();
  return { f: fixture, seeded, before };
}

describe("spec error table (IoT)", () => {
  it("401/100208 on refresh, secret unchanged: logs in once and stores the new pair", async () => {
    const { f } = await due();
    f.platform.failNext("wrongSecret");
    const result = await f.run();
    expect(result).toMatchObject({ outcome: "Refreshed", reason: "logged-in-after-rejection", apiCalls: 2 });
    expect(f.platform.calls).toMatchObject({ refresh: 1, login: 1 });
    expect(await f.storedPairIsCurrent()).toBe(true);
  });

  it("401/100208 again on login: CredentialRejected, tokens and lease untouched", async () => {
    const { f, seeded } = await due();
    f.platform.setSecret("rotated-in-the-console");
    const result = await f.run();
    expect(result).toMatchObject({ outcome: "CredentialRejected", httpStatus: 401, errorCode: "100208", apiCalls: 2 });
    expect(f.platform.calls).toMatchObject({ refresh: 1, login: 1 });
    const { json } = await f.stored();
    expect(json).toMatchObject({ accessToken: seeded.accessToken, refreshToken: seeded.refreshToken });
    expect(json).not.toHaveProperty("lease");
    expect(f.telemetry.last()).toMatchObject({ CredentialRejected: 1, RefreshFailed: 1, AppFrozen: 0 });
    expect(f.telemetry.last().AccessTokenTtl).toBeGreaterThan(0);
  });

  it("401/100208 after another writer replaced the pair: no login, no failure", async () => {
    const { f } = await due();
    f.platform.failNext("slow", 1, { delayMs: 300 });
    const running = f.run();
    await waitFor(() => f.platform.calls.refresh === 1);
    const winner = await f.seed(3600); // a concurrent writer (e.g. an operator) stores a fresh pair
    const result = await running;
    // The winner logged in, so the platform rejects our (older) refresh token when the slow call lands.
    expect(result).toMatchObject({ outcome: "Skipped", reason: "superseded" });
    expect(f.platform.calls.login).toBe(0);
    expect((await f.stored()).json.accessToken).toBe(winner.accessToken);
    expect(f.telemetry.last()).toMatchObject({ RefreshFailed: 0, CredentialRejected: 0 });
  });

  it("400/100247 app frozen: AppFrozen, not retried, nothing written", async () => {
    const { f, before } = await due();
    f.platform.setFrozen(true);
    const result = await f.run();
    expect(result).toMatchObject({ outcome: "AppFrozen", httpStatus: 400, errorCode: "100247", apiCalls: 1 });
    expect((await f.stored()).json.accessToken).toBe(before.json.accessToken);
    expect(f.telemetry.last()).toMatchObject({ AppFrozen: 1, RefreshFailed: 1, CredentialRejected: 0 });
  });

  it.each([
    ["noPermission", 400, "100449"],
    ["missingParam", 400, "102202"],
    ["invalidInput", 400, "50400"],
  ] as [FailureKind, number, string][])("%s (%i/%s): RefreshFailed with the code, not retried", async (kind, status, code) => {
    const { f, before } = await due();
    f.platform.failNext(kind);
    const result = await f.run();
    expect(result).toMatchObject({ outcome: "RefreshFailed", httpStatus: status, errorCode: code, apiCalls: 1 });
    expect(result.message).toContain(code);
    expect((await f.stored()).json.accessToken).toBe(before.json.accessToken);
  });

  it.each([
    ["throttled", 403, "1010009"],
    ["serverError", 500, "50252"],
    ["serverErrorNoBody", 502, undefined],
  ] as [FailureKind, number, string | undefined][])("%s (%i): retried, then succeeds", async (kind) => {
    const { f } = await due();
    f.platform.failNext(kind, 2);
    const result = await f.run();
    expect(result).toMatchObject({ outcome: "Refreshed", reason: "refreshed", apiCalls: 3 });
    expect(await f.storedPairIsCurrent()).toBe(true);
  });

  it("403/1010009 throttled on every attempt: RefreshFailed after the bounded retries", async () => {
    const { f, before } = await due();
    f.platform.failNext("throttled", 10);
    const result = await f.run();
    expect(result).toMatchObject({ outcome: "RefreshFailed", httpStatus: 403, errorCode: "1010009", apiCalls: 4 });
    expect(result.message).toMatch(/gave up after 4 attempts/);
    expect((await f.stored()).json.accessToken).toBe(before.json.accessToken);
  });

  it.each(["reset", "slow"] as FailureKind[])("network failure (%s): retried with the same refresh token, then succeeds", async (kind) => {
    const { f } = await due({ config: { httpTimeoutMs: 300 } });
    f.platform.failNext(kind, 1, { delayMs: 2_000 });
    const result = await f.run();
    expect(result).toMatchObject({ outcome: "Refreshed", reason: "refreshed", apiCalls: 2 });
    expect(await f.storedPairIsCurrent()).toBe(true);
  });

  it("a platform that never answers: the run ends inside its time budget as RefreshFailed", async () => {
    const { f, before } = await due({ config: { httpTimeoutMs: 400, runBudgetMs: 1_500 } });
    f.platform.failNext("slow", 20, { delayMs: 10_000 });
    const started = Date.now();
    const result = await f.run();
    const elapsed = Date.now() - started;
    expect(result).toMatchObject({ outcome: "RefreshFailed", reason: "NetworkError" });
    expect(result.message).toMatch(/timed out after \d+ ms/);
    expect(elapsed).toBeLessThan(1_500 + 1_000);
    expect((await f.stored()).json.accessToken).toBe(before.json.accessToken);
  });

  it("TLS: a client secret without the platform's CA fails verification (retried, then RefreshFailed)", async () => {
    const { f, before } = await due({ clientSecret: { caCertificate: undefined } });
    const result = await f.run();
    expect(result.outcome).toBe("RefreshFailed");
    expect(result.message).toMatch(/UNABLE_TO_VERIFY|SELF_SIGNED|unable to verify|certificate/i);
    expect(f.platform.calls.total).toBe(0);
    expect((await f.stored()).json.accessToken).toBe(before.json.accessToken);
  });

  it("mutual TLS: without a client certificate the platform refuses the handshake", async () => {
    const { f } = await due({ clientSecret: { clientCertificate: undefined, clientKey: undefined } });
    const result = await f.run();
    expect(result.outcome).toBe("RefreshFailed");
    expect(f.platform.calls.total).toBe(0);
  });

  it.each(["malformed", "notJson", "missingField"] as FailureKind[])("200 with a bad body (%s): RefreshFailed, not retried, nothing written", async (kind) => {
    const { f, before } = await due();
    f.platform.failNext(kind);
    const result = await f.run();
    expect(result).toMatchObject({ outcome: "RefreshFailed", reason: "ProtocolError", httpStatus: 200, apiCalls: 1 });
    const after = await f.stored();
    expect(after.json).toMatchObject({ accessToken: before.json.accessToken, refreshToken: before.json.refreshToken });
    expect(after.json).not.toHaveProperty("lease");
  });

  it("response lost after the platform rotated: the retry's 100208 leads to one login and a working pair", async () => {
    const { f } = await due();
    f.platform.failNext("lostAfterRotate");
    const result = await f.run();
    expect(result).toMatchObject({ outcome: "Refreshed", reason: "logged-in-after-rejection" });
    expect(f.platform.calls).toMatchObject({ refresh: 2, login: 1 });
    expect(await f.storedPairIsCurrent()).toBe(true);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
