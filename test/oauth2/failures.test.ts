// What the OAuth2 dialect and the workflow do when the token endpoint misbehaves, against oidc-provider
// over HTTPS: a lost answer after the server rotated (with and without a reuse grace window), 5xx and
// 429 answers, exhausted retries, TLS and connection failures, and servers that quote secrets back.
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { EventSink } from "../support/aws.js";
import { createTestPki, type TestPki } from "../../bin/local/pki.js";
import { createCredential, expectNoSecretsLeaked, expectPairUnchanged, lastMetrics, type Credential, type CredentialOptions } from "./fixture.js";

let pki: TestPki;
const open: Credential[] = [];

beforeAll(async () => {
  pki = await createTestPki();
});

afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(open.splice(0).map((credential) => credential.server.close()));
});

async function credential(options: CredentialOptions = {}): Promise<Credential> {
  const created = await createCredential(pki, options);
  open.push(created);
  return created;
}

describe("a lost answer after the server rotated", () => {
  it("a server with a reuse grace window accepts the retry with the same refresh token", async () => {
    const c = await credential({ server: { reuseGraceSeconds: 30 } });
    c.server.loseNextResponses(1);

    const result = await c.run();
    expect(result).toMatchObject({ outcome: "Refreshed", reason: "refreshed", apiCalls: 2 });
    expect(c.server.tokenRequests).toBe(2);
    expect(c.server.lostRefreshTokens).toHaveLength(1);
    expect(c.server.grantErrors).toEqual([]);
    const stored = await c.current();
    expect(stored.json.refreshToken).not.toBe(c.initialRefreshToken);
    expect(stored.json.refreshToken).not.toBe(c.server.lostRefreshTokens[0]);
    expect(await c.server.userinfo(stored.json.accessToken as string)).toMatchObject({ status: 200 });
    expect(lastMetrics(c)).toMatchObject({ RefreshSucceeded: 1, RefreshFailed: 0, CredentialRejected: 0 });

    // The stored refresh token is the live one: the next run goes on from it.
    expect(await c.run({ force: true })).toMatchObject({ outcome: "Refreshed", apiCalls: 1 });
    expect(c.server.grantErrors).toEqual([]);
    expectNoSecretsLeaked(c, result);
  });

  it("a strict server answers the retry invalid_grant: CredentialRejected, and the grant is gone", async () => {
    const c = await credential();
    const before = await c.current();
    c.server.loseNextResponses(1);

    const result = await c.run();
    expect(result).toMatchObject({ outcome: "CredentialRejected", httpStatus: 400, errorCode: "invalid_grant", apiCalls: 2 });
    expect(c.server.grantErrors).toEqual(["invalid_grant: refresh token already used"]);
    expectPairUnchanged(await c.current(), before.json);
    expect(lastMetrics(c)).toMatchObject({ CredentialRejected: 1, RefreshFailed: 1, RefreshSucceeded: 0 });
    // The token the lost answer carried was revoked with the grant: a person must authorize again.
    const lost = c.server.lostRefreshTokens[0]!;
    expect(await c.server.refreshDirectly(lost)).toMatchObject({ status: 400, json: { error: "invalid_grant" } });
    expectNoSecretsLeaked(c, result);
  });
});

describe("server errors and network failures", () => {
  it.each([503, 500, 429])("HTTP %i is retried with the same refresh token and then succeeds", async (status) => {
    const c = await credential();
    c.server.failNextRequests(2, status);

    const result = await c.run();
    expect(result).toMatchObject({ outcome: "Refreshed", apiCalls: 3 });
    expect(c.server.tokenRequests).toBe(3);
    expect(c.server.grantErrors).toEqual([]);
    expect((await c.current()).json.refreshToken).not.toBe(c.initialRefreshToken);
    expect(lastMetrics(c)).toMatchObject({ RefreshSucceeded: 1, RefreshFailed: 0 });
  });

  it("exhausted retries are RefreshFailed with the status and code; nothing written, the refresh token unspent", async () => {
    const sink = await EventSink.create();
    const c = await credential({ eventBusName: sink.busName });
    const before = await c.current();
    c.server.failNextRequests(10, 502);

    const result = await c.run();
    expect(result).toMatchObject({ outcome: "RefreshFailed", reason: "PlatformError", httpStatus: 502, errorCode: "server_error", apiCalls: 3 });
    expect(result.message).toContain("HTTP 502 server_error: injected failure (gave up after 3 attempts)");
    expect(c.server.tokenRequests).toBe(3);
    expectPairUnchanged(await c.current(), before.json);
    expect(lastMetrics(c)).toMatchObject({ RefreshFailed: 1, CredentialRejected: 0, RefreshSucceeded: 0 });
    c.server.failNextRequests(0, 502);
    expect((await c.server.refreshDirectly(c.initialRefreshToken)).status).toBe(200);

    const events = await sink.drain();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      source: "token-refresher",
      "detail-type": "Token Refresh Failed",
      detail: { credential: c.config.credential.name, outcome: "RefreshFailed", httpStatus: 502, errorCode: "server_error" },
    });
    expectNoSecretsLeaked(c, result, events);
  });

  it("another 4xx is RefreshFailed with the server's error code, not retried", async () => {
    const c = await credential();
    c.server.failNextRequests(1, 400, () => ({ error: "invalid_scope", error_description: "scope not allowed" }));

    const result = await c.run();
    expect(result).toMatchObject({ outcome: "RefreshFailed", httpStatus: 400, errorCode: "invalid_scope", apiCalls: 1 });
    expect(result.message).toContain("HTTP 400 invalid_scope: scope not allowed");
    expect(lastMetrics(c)).toMatchObject({ RefreshFailed: 1, CredentialRejected: 0 });
  });

  it("TLS is verified: without the CA in the client secret no request reaches the server", async () => {
    const c = await credential({ clientSecretFields: { caCertificate: undefined } });
    const before = await c.current();

    const result = await c.run();
    expect(result).toMatchObject({ outcome: "RefreshFailed", apiCalls: 3 });
    expect(result.message).toMatch(/failed: (SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|DEPTH_ZERO_SELF_SIGNED_CERT|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)/);
    expect(c.server.tokenRequests).toBe(0);
    expectPairUnchanged(await c.current(), before.json);
  });

  it("a server that is down is retried, then RefreshFailed", async () => {
    const c = await credential();
    await c.server.close();

    const result = await c.run();
    expect(result).toMatchObject({ outcome: "RefreshFailed", apiCalls: 3 });
    expect(result.message).toContain("failed: ECONNREFUSED (gave up after 3 attempts)");
  });
});

describe("secrets stay out of output", () => {
  it("a server that quotes the refresh token and client secret back has them redacted", async () => {
    const c = await credential();
    const written: string[] = [];
    for (const stream of [process.stdout, process.stderr]) {
      const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
      vi.spyOn(stream, "write").mockImplementation((chunk: unknown, ...rest: unknown[]) => {
        written.push(String(chunk));
        return write(chunk, ...rest);
      });
    }
    c.server.failNextRequests(1, 400, (form) => ({
      error: "invalid_grant",
      error_description: `refresh token ${form.refresh_token} is not valid for client ${form.client_id} with secret ${form.client_secret}`,
    }));

    const result = await c.run();
    expect(result).toMatchObject({ outcome: "CredentialRejected", errorCode: "invalid_grant" });
    expect(result.message).toContain("refresh token [redacted] is not valid for client");
    expect(result.message).toContain("with secret [redacted]");
    expectNoSecretsLeaked(c, result, written.join(""));
  });
});
