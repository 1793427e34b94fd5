// The OAuth2 dialect through the whole refresh workflow, against oidc-provider over HTTPS and the
// token secret in moto: rotation, not-due runs, configurable token path, rejected credentials,
// the missing initial refresh token, refresh-token replay, and servers that don't rotate.
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { versionCount, withSettings } from "../support/aws.js";
import { createTestPki, type TestPki } from "../../bin/local/pki.js";
import { ACCOUNT_ID, SCOPE } from "./auth-server.js";
import { createCredential, expectNoSecretsLeaked, expectPairUnchanged, lastMetrics, type Credential, type CredentialOptions } from "./fixture.js";
import { AWS_CLOCK_RESOLUTION_MS } from "../../lambda/clock.js";

let pki: TestPki;
const open: Credential[] = [];

beforeAll(async () => {
  pki = await createTestPki();
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((credential) => credential.server.close()));
});

async function credential(options: CredentialOptions = {}): Promise<Credential> {
  const created = await createCredential(pki, options);
  open.push(created);
  return created;
}

const SECONDS = 1000;

describe("OAuth2 refresh against a rotating authorization server", () => {
  it("a due run stores a new pair; the next forced run uses the rotated refresh token", async () => {
    const c = await credential();
    const before = Date.now();

    const first = await c.run();
    expect(first).toMatchObject({ outcome: "Refreshed", reason: "refreshed", apiCalls: 1 });
    const stored = await c.current();
    expect(stored.json).toMatchObject({ tokenType: "Bearer", scope: SCOPE });
    const rotated = stored.json.refreshToken as string;
    expect(rotated).toEqual(expect.any(String));
    expect(rotated).not.toBe(c.initialRefreshToken);
    const expiresAt = Date.parse(stored.json.expiresAt as string);
    // Taken from AWS's clock (the Date header), good to its resolution.
    expect(expiresAt).toBeGreaterThanOrEqual(before + 3600 * SECONDS - AWS_CLOCK_RESOLUTION_MS);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 3600 * SECONDS + AWS_CLOCK_RESOLUTION_MS);
    expect(first.versionId).toBe(stored.versionId);
    expect(lastMetrics(c)).toMatchObject({ RefreshSucceeded: 1, RefreshFailed: 0, CredentialRejected: 0, RefreshSkipped: 0 });
    expect(lastMetrics(c).AccessTokenTtl).toBeGreaterThan(3590);

    // The provider accepts the stored access token, for the account the grant was made for.
    const accessToken = stored.json.accessToken as string;
    expect(await c.server.userinfo(accessToken)).toEqual({ status: 200, json: { sub: ACCOUNT_ID } });
    const issued = await c.server.provider.AccessToken.find(accessToken);
    expect(issued?.clientId).toBe(c.clientId);

    const second = await c.run({ force: true });
    expect(second).toMatchObject({ outcome: "Refreshed", apiCalls: 1 });
    const next = await c.current();
    expect(next.json.refreshToken).not.toBe(rotated);
    expect(next.json.accessToken).not.toBe(accessToken);
    expect(c.server.tokenRequests).toBe(2);
    // The server took the rotated token without complaint: no reuse was detected.
    expect(c.server.grantErrors).toEqual([]);
    expect(await c.server.userinfo(next.json.accessToken as string)).toMatchObject({ status: 200 });
    expect(c.telemetry.metric("RefreshSucceeded")).toEqual([1, 1]);
    expectNoSecretsLeaked(c, first, second);
  });

  it("a run while the access token is not due makes no call", async () => {
    const c = await credential();
    await c.run();
    const stored = await c.current();
    expect(c.server.tokenRequests).toBe(1);

    const skipped = await c.run();
    expect(skipped).toMatchObject({ outcome: "Skipped", reason: "not-due", apiCalls: 0, versionId: stored.versionId });
    expect(c.server.tokenRequests).toBe(1);
    expect((await c.current()).versionId).toBe(stored.versionId);
    expect(lastMetrics(c)).toMatchObject({ RefreshSkipped: 1, RefreshSucceeded: 0, RefreshFailed: 0 });
    expect(lastMetrics(c).AccessTokenTtl).toBeGreaterThan(3590);
    expectNoSecretsLeaked(c, skipped);
  });

  it("the token path is configurable: a path under ENDPOINT_URL or an absolute https URL", async () => {
    const tokenPath = "/oauth/v2/token";
    const c = await credential({ server: { tokenPath }, config: { oauth2TokenPath: tokenPath } });
    expect(await c.run()).toMatchObject({ outcome: "Refreshed" });

    // An absolute URL wins over ENDPOINT_URL, which then is never contacted.
    c.config = withSettings(c.config, { endpointUrl: "https://token-refresher.invalid", oauth2TokenPath: `${c.server.baseUrl}${tokenPath}` });
    expect(await c.run({ force: true })).toMatchObject({ outcome: "Refreshed" });
    expect(c.server.tokenRequests).toBe(2);

    // The default path is not where this server listens.
    c.config = withSettings(c.config, { endpointUrl: c.server.baseUrl, oauth2TokenPath: "/api/v1/oauth2/token" });
    const missed = await c.run({ force: true });
    expect(missed).toMatchObject({ outcome: "RefreshFailed", httpStatus: 404 });
    expect(c.server.tokenRequests).toBe(2);
  });

  it("a wrong client secret is CredentialRejected; nothing is written and the refresh token is not spent", async () => {
    const c = await credential({ clientSecretFields: { clientSecret: "cs-wrong-secret-for-this-client" } });
    const before = await c.current();

    const result = await c.run();
    expect(result).toMatchObject({
      outcome: "CredentialRejected",
      reason: "PlatformError",
      httpStatus: 401,
      errorCode: "invalid_client",
      apiCalls: 1,
    });
    expect(result.message).toContain("invalid_client: client authentication failed");
    expectPairUnchanged(await c.current(), before.json);
    expect(lastMetrics(c)).toMatchObject({ CredentialRejected: 1, RefreshFailed: 1, RefreshSucceeded: 0 });
    // Never retried in-run, and the refresh token is still good for the right client secret.
    expect(c.server.tokenRequests).toBe(1);
    expect((await c.server.refreshDirectly(c.initialRefreshToken)).status).toBe(200);
    expectNoSecretsLeaked(c, result);
  });

  it("no refresh token in the token secret fails with NeedsInitialRefreshTokenError; nothing written, no call", async () => {
    const c = await credential({ tokenSecret: () => ({}) });
    const before = await c.current();

    const result = await c.run();
    expect(result).toMatchObject({ outcome: "RefreshFailed", reason: "NeedsInitialRefreshTokenError", apiCalls: 0 });
    expect(result.message).toMatch(/no refreshToken: a person must authorize once and store it \(see docs\/oauth2.md, "Initial refresh token"\)/);
    expect(c.server.tokenRequests).toBe(0);
    expect((await c.current()).versionId).toBe(before.versionId);
    expect(await versionCount(c.tokenSecretName)).toBe(1);
    expect(lastMetrics(c)).toMatchObject({ RefreshFailed: 1, CredentialRejected: 0, RefreshSucceeded: 0 });
    expect(lastMetrics(c).AccessTokenTtl).toBeUndefined();
    expectNoSecretsLeaked(c, result);
  });

  it("replaying an already rotated refresh token is CredentialRejected, and oidc-provider revokes the whole grant", async () => {
    const c = await credential();
    await c.run();
    const rotated = await c.current();
    const newest = rotated.json.refreshToken as string;
    const accessToken = rotated.json.accessToken as string;

    // A stale copy comes back (a restored backup, a second refresher with old state): it is due and holds the old token.
    const stale = { refreshToken: c.initialRefreshToken, accessToken: "stale-access-token", expiresAt: new Date(Date.now() - 60_000).toISOString() };
    await c.putTokenSecret(stale);
    const before = await c.current();

    const replay = await c.run();
    expect(replay).toMatchObject({ outcome: "CredentialRejected", httpStatus: 400, errorCode: "invalid_grant", apiCalls: 1 });
    expect(replay.message).toContain("invalid_grant: grant request is invalid");
    expect(c.server.grantErrors).toEqual(["invalid_grant: refresh token already used"]);
    expect(c.server.repeatedRefreshTokens).toBe(1);
    expectPairUnchanged(await c.current(), before.json);
    expect(lastMetrics(c)).toMatchObject({ CredentialRejected: 1, RefreshFailed: 1 });

    // Reuse detection revoked the grant: the newest refresh token and its access token are dead too.
    expect(await c.server.provider.RefreshToken.find(newest)).toBeUndefined();
    expect(await c.server.userinfo(accessToken)).toMatchObject({ status: 401, json: { error: "invalid_token" } });
    await c.putTokenSecret({ ...rotated.json });
    const newestRun = await c.run({ force: true });
    expect(newestRun).toMatchObject({ outcome: "CredentialRejected", errorCode: "invalid_grant" });
    expect(c.server.grantErrors.at(-1)).toBe("invalid_grant: refresh token not found");
    expect(c.telemetry.metric("CredentialRejected")).toEqual([0, 1, 1]);
    expectNoSecretsLeaked(c, replay, newestRun);
  });
});

describe("OAuth2 refresh against a server that does not rotate", () => {
  it("an answer without refresh_token keeps the old one, which keeps working", async () => {
    const c = await credential({ server: { rotate: false, omitUnchangedRefreshToken: true } });
    const direct = await c.server.refreshDirectly(c.initialRefreshToken);
    expect(direct.status).toBe(200);
    expect(direct.json).not.toHaveProperty("refresh_token");

    const first = await c.run();
    expect(first).toMatchObject({ outcome: "Refreshed" });
    const stored = await c.current();
    expect(stored.json.refreshToken).toBe(c.initialRefreshToken);

    const second = await c.run({ force: true });
    expect(second).toMatchObject({ outcome: "Refreshed" });
    const next = await c.current();
    expect(next.json.refreshToken).toBe(c.initialRefreshToken);
    expect(next.json.accessToken).not.toBe(stored.json.accessToken);
    expect(await c.server.userinfo(next.json.accessToken as string)).toMatchObject({ status: 200 });
    expect(c.server.grantErrors).toEqual([]);
    expect(c.telemetry.metric("RefreshSucceeded")).toEqual([1, 1]);
    expectNoSecretsLeaked(c, first, second);
  });

  it("stores the refresh token's expiry from refresh_token_expires_in and reports RefreshTokenTtl; a non-rotating answer keeps it", async () => {
    const c = await credential({ server: { refreshTokenTtlSeconds: 7 * 86_400 } });
    const before = Date.now();
    await c.run();
    const expiry = Date.parse((await c.current()).json.refreshTokenExpiresAt as string);
    expect(expiry).toBeGreaterThanOrEqual(before + 7 * 86_400 * SECONDS - AWS_CLOCK_RESOLUTION_MS);
    expect(expiry).toBeLessThanOrEqual(Date.now() + 7 * 86_400 * SECONDS + AWS_CLOCK_RESOLUTION_MS);
    expect(c.telemetry.last().RefreshTokenTtl).toBeGreaterThan(7 * 86_400 - 60);

    const expiresAt = new Date(Date.now() + 3 * 86_400 * SECONDS).toISOString();
    const kept = await credential({
      server: { rotate: false, omitUnchangedRefreshToken: true },
      tokenSecret: (refreshToken) => ({ refreshToken, refreshTokenExpiresAt: expiresAt }),
    });
    expect(await kept.run()).toMatchObject({ outcome: "Refreshed" });
    expect((await kept.current()).json.refreshTokenExpiresAt).toBe(expiresAt);
  });

  it("an answer without expires_in uses DEFAULT_EXPIRES_IN_SECONDS", async () => {
    const c = await credential({ server: { omitExpiresIn: true }, config: { oauth2DefaultExpiresInSeconds: 1800 } });
    const before = Date.now();
    expect(await c.run()).toMatchObject({ outcome: "Refreshed" });
    const expiresAt = Date.parse((await c.current()).json.expiresAt as string);
    expect(expiresAt).toBeGreaterThanOrEqual(before + 1800 * SECONDS - AWS_CLOCK_RESOLUTION_MS);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 1800 * SECONDS + AWS_CLOCK_RESOLUTION_MS);
    expect(lastMetrics(c).AccessTokenTtl).toBeLessThanOrEqual(1800);
  });
});
