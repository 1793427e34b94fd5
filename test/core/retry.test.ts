import { describe, expect, it } from "vitest";
import { NetworkError, PlatformError } from "../../lambda/errors.js";
import { Deadline } from "../../lambda/refresh/deadline.js";
import { DEFAULT_RETRY_POLICY, withRetry } from "../../lambda/refresh/retry.js";

function environment(budgetMs: number) {
  let clock = 0;
  const sleeps: number[] = [];
  let attempts = 0;
  return {
    sleeps,
    attempts: () => attempts,
    env: {
      deadline: new Deadline(budgetMs, () => clock),
      sleep: (ms: number) => {
        sleeps.push(ms);
        clock += ms;
        return Promise.resolve();
      },
      random: () => 1,
      policy: DEFAULT_RETRY_POLICY,
      onAttempt: () => void attempts++,
    },
  };
}

describe("withRetry", () => {
  it("retries retryable errors with exponential backoff, then succeeds", async () => {
    const { env, sleeps, attempts } = environment(60_000);
    let calls = 0;
    const value = await withRetry(() => (++calls < 3 ? Promise.reject(new NetworkError("reset")) : Promise.resolve("ok")), env);
    expect(value).toBe("ok");
    expect(attempts()).toBe(3);
    expect(sleeps).toEqual([300, 600]);
  });

  it("does not retry a non-retryable error", async () => {
    const { env, attempts } = environment(60_000);
    const rejected = new PlatformError("401", { outcome: "CredentialRejected", httpStatus: 401, errorCode: "100208" });
    await expect(withRetry(() => Promise.reject(rejected), env)).rejects.toBe(rejected);
    expect(attempts()).toBe(1);
  });

  it("says when a credential rejection follows failed attempts (a lost answer may have used the refresh token)", async () => {
    const { env } = environment(60_000);
    let calls = 0;
    const error = await withRetry(
      () => Promise.reject(++calls === 1 ? new NetworkError("reset") : new PlatformError("invalid_grant", { outcome: "CredentialRejected" })),
      env,
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({ outcome: "CredentialRejected" });
    expect((error as Error).message).toMatch(/^invalid_grant \(on attempt 2, after 1 failed: the platform may have rotated the refresh token/);
  });

  it("gives up after maxAttempts as RefreshFailed, keeping status and code", async () => {
    const { env, attempts } = environment(60_000);
    const throttled = new PlatformError("IoT refreshToken answered HTTP 403", { retryable: true, httpStatus: 403, errorCode: "1010009" });
    const error = await withRetry(() => Promise.reject(throttled), env).catch((e: unknown) => e);
    expect(attempts()).toBe(DEFAULT_RETRY_POLICY.maxAttempts);
    expect(error).toBe(throttled);
    expect(error).toMatchObject({ outcome: "RefreshFailed", httpStatus: 403, errorCode: "1010009" });
    expect((error as Error).message).toMatch(/gave up after 4 attempts/);
  });

  it("stops early when the next backoff would overrun the run budget", async () => {
    const { env, attempts, sleeps } = environment(1_000);
    const error = await withRetry(() => Promise.reject(new NetworkError("timeout")), env).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/run time budget spent/);
    expect(attempts()).toBeLessThan(DEFAULT_RETRY_POLICY.maxAttempts);
    expect(sleeps.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(1_000);
  });
});
