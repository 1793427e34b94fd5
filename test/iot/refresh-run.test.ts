import { afterEach, describe, expect, it } from "vitest";
import { AWS_CLOCK_RESOLUTION_MS } from "../../lambda/clock.js";
import { IOT_REFRESH_TOKEN_LIFETIME_SECONDS } from "../../lambda/dialects/iot.js";
import { versionStages } from "../support/aws.js";
import { IotFixture } from "../support/iot-fixture.js";

let fixture: IotFixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

const start = async (...args: Parameters<typeof IotFixture.start>) => (fixture = await IotFixture.start(...args));

describe("IoT refresh run against moto and the platform simulator", () => {
  it("bootstraps an empty token secret by logging in", async () => {
    const f = await start();
    const result = await f.run();
    expect(result).toMatchObject({ outcome: "Refreshed", reason: "logged-in", apiCalls: 1 });
    expect(f.platform.calls).toMatchObject({ login: 1, refresh: 0 });
    expect(await f.storedPairIsCurrent()).toBe(true);
    const { json, versionId } = await f.stored();
    expect(json).toMatchObject({ tokenType: "bearer", scope: "default" });
    expect(json).not.toHaveProperty("lease");
    expect(Date.parse(json.expiresAt as string) - Date.now()).toBeGreaterThan(3500_000);
    expect(result.versionId).toBe(versionId);
    expect(f.telemetry.last()).toMatchObject({ RefreshSucceeded: 1, RefreshFailed: 0 });
    expect(f.telemetry.last().AccessTokenTtl).toBeGreaterThan(3500);
  });

  it("stores the refresh token's own expiry, a month after the login, and reports RefreshTokenTtl", async () => {
    const f = await start();
    const before = Date.now();
    await f.run();
    const { json } = await f.stored();
    const month = IOT_REFRESH_TOKEN_LIFETIME_SECONDS * 1000;
    expect(Date.parse(json.refreshTokenExpiresAt as string)).toBeGreaterThanOrEqual(before + month - AWS_CLOCK_RESOLUTION_MS);
    expect(Date.parse(json.refreshTokenExpiresAt as string)).toBeLessThanOrEqual(Date.now() + month + AWS_CLOCK_RESOLUTION_MS);
    const ttl = f.telemetry.last().RefreshTokenTtl as number;
    expect(ttl).toBeGreaterThan(IOT_REFRESH_TOKEN_LIFETIME_SECONDS - 60);
    expect(ttl).toBeLessThanOrEqual(IOT_REFRESH_TOKEN_LIFETIME_SECONDS + 1);
  });

  it("refreshes a due pair; the new pair is accepted and the old access token is not", async () => {
    const f = await start();
    const seeded = await f.seed(600);
    const result = await f.run();
    expect(result).toMatchObject({ outcome: "Refreshed", reason: "refreshed", apiCalls: 1 });
    expect(f.platform.calls).toMatchObject({ login: 0, refresh: 1 });
    expect(await f.storedPairIsCurrent()).toBe(true);
    expect(f.platform.isValidAccessToken(seeded.accessToken!)).toBe(false);
  });

  it("makes no API call when the token is not due, and reports the remaining lifetime", async () => {
    const f = await start();
    await f.run();
    const before = await f.stored();
    f.platform.reset();
    const result = await f.run();
    expect(result).toMatchObject({ outcome: "Skipped", reason: "not-due", apiCalls: 0 });
    expect(f.platform.calls.total).toBe(0);
    expect((await f.stored()).versionId).toBe(before.versionId);
    expect(f.telemetry.last()).toMatchObject({ RefreshSkipped: 1, RefreshSucceeded: 0, RefreshFailed: 0 });
    expect(f.telemetry.last().AccessTokenTtl).toBeGreaterThan(3500);
  });

  it("refreshes a pair that is not due when the event says force", async () => {
    const f = await start();
    await f.run();
    const result = await f.run({ force: true });
    expect(result).toMatchObject({ outcome: "Refreshed", reason: "refreshed" });
    expect(f.platform.calls).toMatchObject({ login: 1, refresh: 1 });
    expect(await f.storedPairIsCurrent()).toBe(true);
  });

  it("accepts expiresIn as a numeric string", async () => {
    const f = await start({ platform: { expiresInAsString: true } });
    expect(await f.run()).toMatchObject({ outcome: "Refreshed" });
    expect(Date.parse((await f.stored()).json.expiresAt as string) - Date.now()).toBeGreaterThan(3500_000);
  });

  it("creates exactly one version: AWSCURRENT on the new pair, AWSPREVIOUS on the one it replaced", async () => {
    const f = await start();
    const before = await f.stored();
    const result = await f.run();
    const stages = await versionStages(f.config.credential.tokenSecretId);
    expect(Object.keys(stages)).toHaveLength(2);
    expect(stages[result.versionId!]).toEqual(expect.arrayContaining(["AWSCURRENT", "TR_PENDING"]));
    expect(stages[before.versionId]).toEqual(["AWSPREVIOUS"]);
  });
});
