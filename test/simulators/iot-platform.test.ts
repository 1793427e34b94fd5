// Proves the IoT platform simulator against a real HTTPS client (undici) with mutual TLS.
import { X509Certificate } from "node:crypto";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { Agent, request } from "undici";
import { createTestPki } from "../../bin/local/pki.js";
import type { TestPki } from "../../bin/local/pki.js";
import { LOGIN_PATH, REFRESH_PATH, WHOAMI_PATH, startIotPlatform } from "../../bin/local/iot-platform.js";
import type { FailureKind, IotPlatform, IotPlatformOptions } from "../../bin/local/iot-platform.js";

const APP_ID = "test-app-id";
const SECRET = "test-app-secret";
const FORM = "application/x-www-form-urlencoded";
const JSON_TYPE = "application/json";

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

let pki: TestPki;
let agent: Agent;
let platform: IotPlatform;
let clock: number;
const extraAgents: Agent[] = [];
const extraPlatforms: IotPlatform[] = [];

beforeAll(async () => {
  pki = await createTestPki();
  agent = new Agent({ connect: { ca: pki.caPem, cert: pki.client.certPem, key: pki.client.keyPem } });
});

afterAll(async () => {
  await agent.close();
});

beforeEach(async () => {
  clock = Date.UTC(2025, 0, 1);
  platform = await startIotPlatform({ pki, appId: APP_ID, secret: SECRET, now: () => clock });
});

afterEach(async () => {
  await platform.close();
  await Promise.all(extraPlatforms.splice(0).map((p) => p.close()));
  await Promise.all(extraAgents.splice(0).map((a) => a.close()));
});

function newAgent(connect: { ca?: string; cert?: string; key?: string }): Agent {
  const created = new Agent({ connect, connections: 10 });
  extraAgents.push(created);
  return created;
}

async function send(
  method: "GET" | "POST" | "PUT",
  path: string,
  options: {
    contentType?: string;
    body?: string;
    headers?: Record<string, string>;
    via?: Agent;
    on?: IotPlatform;
    signal?: AbortSignal;
  } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.contentType) headers["content-type"] = options.contentType;
  const res = await request(`${(options.on ?? platform).baseUrl}${path}`, {
    dispatcher: options.via ?? agent,
    method,
    headers,
    body: options.body,
    signal: options.signal,
  });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

function login(form: Record<string, string> = { appId: APP_ID, secret: SECRET }, on?: IotPlatform): Promise<Reply> {
  return send("POST", LOGIN_PATH, { contentType: FORM, body: new URLSearchParams(form).toString(), on });
}

function refresh(refreshToken: string | undefined, fields: Record<string, unknown> = {}): Promise<Reply> {
  const body = { appId: APP_ID, secret: SECRET, refreshToken, ...fields };
  return send("POST", REFRESH_PATH, { contentType: JSON_TYPE, body: JSON.stringify(body) });
}

function whoami(accessToken: string, appKey = APP_ID): Promise<Reply> {
  return send("GET", WHOAMI_PATH, { headers: { authorization: `Bearer ${accessToken}`, app_key: appKey } });
}

interface TokenBody {
  accessToken: string;
  tokenType: string;
  expiresIn: number | string;
  refreshToken: string;
  scope: string;
}

function tokens(reply: Reply): TokenBody {
  expect(reply.status).toBe(200);
  return JSON.parse(reply.text) as TokenBody;
}

function expectError(reply: Reply, status: number, code: string): void {
  expect(reply.status).toBe(status);
  expect(reply.headers["content-type"]).toMatch(/^application\/json/);
  const body = JSON.parse(reply.text) as { error_code: unknown; error_desc: unknown };
  expect(body.error_code).toBe(code);
  expect(typeof body.error_desc).toBe("string");
}

async function until(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not reached in time");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe("token lifecycle", () => {
  it("logs in with the form-encoded body and refreshes with JSON, rotating the pair", async () => {
    const first = tokens(await login());
    expect(first).toEqual({
      accessToken: platform.currentAccessToken(),
      tokenType: "bearer",
      expiresIn: 3600,
      refreshToken: platform.currentRefreshToken(),
      scope: "default",
    });
    expect(first.accessToken).toMatch(/^[A-Za-z0-9_-]{43}$/); // 32 random bytes, base64url

    const second = tokens(await refresh(first.refreshToken));
    expect(second.accessToken).not.toBe(first.accessToken);
    expect(second.refreshToken).not.toBe(first.refreshToken);
    expect(second.expiresIn).toBe(3600);
    expect(platform.currentAccessToken()).toBe(second.accessToken);
    expect(platform.isValidAccessToken(second.accessToken)).toBe(true);
    expect(platform.isValidRefreshToken(second.refreshToken)).toBe(true);
  });

  it("accepts a refresh token once: reusing it answers 401/100208", async () => {
    const first = tokens(await login());
    tokens(await refresh(first.refreshToken));
    expectError(await refresh(first.refreshToken), 401, "100208");
    expect(platform.isValidRefreshToken(first.refreshToken)).toBe(false);
  });

  it("invalidates the previous access token at once (whoami)", async () => {
    const first = tokens(await login());
    const ok = await whoami(first.accessToken);
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.text)).toEqual({ appId: APP_ID });

    const second = tokens(await refresh(first.refreshToken));
    expectError(await whoami(first.accessToken), 401, "1010005");
    expect((await whoami(second.accessToken)).status).toBe(200);
  });

  it("keeps only the latest pair: a second login voids the first refresh token", async () => {
    const first = tokens(await login());
    const second = tokens(await login());
    expectError(await refresh(first.refreshToken), 401, "100208");
    expect(tokens(await refresh(second.refreshToken)).accessToken).toBe(platform.currentAccessToken());
  });

  it("whoami needs the bearer token and the matching app_key header", async () => {
    const { accessToken } = tokens(await login());
    expectError(await whoami(accessToken, "other-app"), 401, "1010005");
    expectError(await send("GET", WHOAMI_PATH, { headers: { app_key: APP_ID } }), 401, "1010005");
    expectError(await whoami("not-a-token"), 401, "1010005");
  });

  it("expires access tokens and refresh tokens on the injected clock", async () => {
    const first = tokens(await login());
    clock += 3600 * 1000 - 1;
    expect((await whoami(first.accessToken)).status).toBe(200);
    clock += 1;
    expectError(await whoami(first.accessToken), 401, "1010005");
    expect(platform.isValidAccessToken(first.accessToken)).toBe(false);
    expect(platform.isValidRefreshToken(first.refreshToken)).toBe(true); // expired access, refresh still fine

    clock += 30 * 24 * 3600 * 1000;
    expectError(await refresh(first.refreshToken), 401, "100208");
  });

  it("honours custom TTLs", async () => {
    const custom = await startIotPlatform({
      pki, appId: APP_ID, secret: SECRET, now: () => clock, accessTokenTtlSeconds: 60, refreshTokenTtlSeconds: 120,
    });
    extraPlatforms.push(custom);
    const pair = custom.issuePair();
    expect(pair.expiresIn).toBe(60);
    expect(pair.accessTokenExpiresAt).toBe(clock + 60_000);
    expect(pair.refreshTokenExpiresAt).toBe(clock + 120_000);
    expect(tokens(await login(undefined, custom)).expiresIn).toBe(60);
  });

  it("issuePair() seeds a valid pair without an HTTP call", async () => {
    const pair = platform.issuePair();
    expect(platform.calls.total).toBe(0);
    expect(platform.currentAccessToken()).toBe(pair.accessToken);
    expect((await whoami(pair.accessToken)).status).toBe(200);
    tokens(await refresh(pair.refreshToken));
    expect(platform.isValidAccessToken(pair.accessToken)).toBe(false);
  });

  it("sends expiresIn as a numeric string when switched (option or setter)", async () => {
    platform.setExpiresInAsString(true);
    const asString = tokens(await login());
    expect(asString.expiresIn).toBe("3600");
    platform.setExpiresInAsString(false);
    expect(tokens(await refresh(asString.refreshToken)).expiresIn).toBe(3600);

    const viaOption = await startIotPlatform({ pki, appId: APP_ID, secret: SECRET, expiresInAsString: true });
    extraPlatforms.push(viaOption);
    expect(tokens(await login(undefined, viaOption)).expiresIn).toBe("3600");
  });
});

describe("request validation", () => {
  it("rejects a wrong appId or secret with 401/100208", async () => {
    expectError(await login({ appId: APP_ID, secret: "wrong" }), 401, "100208");
    expectError(await login({ appId: "other", secret: SECRET }), 401, "100208");
    const { refreshToken } = tokens(await login());
    expectError(await refresh(refreshToken, { secret: "wrong" }), 401, "100208");
    expect(platform.isValidRefreshToken(refreshToken)).toBe(true); // a rejected call consumes nothing
  });

  it("answers 400/102202 for a missing or empty mandatory field", async () => {
    expectError(await login({ appId: APP_ID }), 400, "102202");
    expectError(await login({ appId: APP_ID, secret: "" }), 400, "102202");
    expectError(await refresh(undefined), 400, "102202");
    expectError(await refresh("", {}), 400, "102202");
  });

  it("answers 400/50400 for a wrong content type, unparseable body or wrongly typed field", async () => {
    const form = new URLSearchParams({ appId: APP_ID, secret: SECRET }).toString();
    const json = JSON.stringify({ appId: APP_ID, secret: SECRET });
    expectError(await send("POST", LOGIN_PATH, { contentType: JSON_TYPE, body: json }), 400, "50400");
    expectError(await send("POST", REFRESH_PATH, { contentType: FORM, body: form }), 400, "50400");
    expectError(await send("POST", REFRESH_PATH, { contentType: JSON_TYPE, body: "{not json" }), 400, "50400");
    expectError(await send("POST", REFRESH_PATH, { contentType: JSON_TYPE, body: "[]" }), 400, "50400");
    expectError(await refresh("x", { appId: 42 }), 400, "50400");
    expect(platform.currentAccessToken()).toBeUndefined();
  });

  it("answers 404 for an unknown path and 405 for a wrong method", async () => {
    expect((await send("GET", "/iocm/app/sec/v1.1.0/nope")).status).toBe(404);
    const wrongMethod = await send("GET", LOGIN_PATH);
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.allow).toBe("POST");
    expect((await send("PUT", REFRESH_PATH, { contentType: JSON_TYPE, body: "{}" })).status).toBe(405);
    expect((await send("POST", WHOAMI_PATH)).status).toBe(405);
  });
});

// The server sends its chain (leaf + test CA); a client that does not trust the CA sees one of these.
const UNTRUSTED_SERVER = /SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT|UNABLE_TO_VERIFY_LEAF_SIGNATURE/;

describe("mutual TLS", () => {
  it("uses an in-memory PKI with PKCS#8 keys and a localhost server certificate", async () => {
    const started = performance.now();
    const fresh = await createTestPki();
    expect(performance.now() - started).toBeLessThan(500); // ~40 ms typically; generous for loaded CI
    for (const pair of [fresh.server, fresh.client, fresh.foreignClient]) {
      expect(pair.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
      expect(pair.certPem).toMatch(/^-----BEGIN CERTIFICATE-----\n/);
    }
    const ca = new X509Certificate(fresh.caPem);
    const server = new X509Certificate(fresh.server.certPem);
    expect(ca.subject).toBe("CN=token-refresher test CA");
    expect(ca.ca).toBe(true);
    expect(server.verify(ca.publicKey)).toBe(true);
    expect(server.subjectAltName).toBe("DNS:localhost, IP Address:127.0.0.1");
    expect(server.keyUsage).toEqual(["1.3.6.1.5.5.7.3.1"]); // serverAuth
    expect(new X509Certificate(fresh.client.certPem).keyUsage).toEqual(["1.3.6.1.5.5.7.3.2"]); // clientAuth
    expect(new X509Certificate(fresh.foreignClient.certPem).verify(ca.publicKey)).toBe(false);
    const foreignCa = new X509Certificate(fresh.foreignCaPem);
    expect(new X509Certificate(fresh.foreignClient.certPem).verify(foreignCa.publicKey)).toBe(true);
  });

  it("refuses a client without a certificate", async () => {
    const noCert = newAgent({ ca: pki.caPem });
    await expect(send("POST", LOGIN_PATH, { via: noCert, contentType: FORM, body: "appId=a" })).rejects.toThrow();
    await until(() => platform.calls.tlsRejected === 1);
    expect(platform.calls.total).toBe(0); // never reached the HTTP handler
  });

  it("refuses a client certificate issued by a foreign CA", async () => {
    const foreign = newAgent({ ca: pki.caPem, cert: pki.foreignClient.certPem, key: pki.foreignClient.keyPem });
    await expect(send("POST", LOGIN_PATH, { via: foreign, contentType: FORM, body: "appId=a" })).rejects.toThrow();
    await until(() => platform.calls.tlsRejected === 1);
    expect(platform.calls.total).toBe(0);
  });

  it("fails server verification for a client that does not trust the test CA", async () => {
    const systemRootsOnly = newAgent({ cert: pki.client.certPem, key: pki.client.keyPem });
    await expect(send("GET", WHOAMI_PATH, { via: systemRootsOnly })).rejects.toMatchObject({
      code: expect.stringMatching(UNTRUSTED_SERVER) as unknown,
    });
    const trustsForeignCa = newAgent({ ca: pki.foreignCaPem, cert: pki.client.certPem, key: pki.client.keyPem });
    await expect(send("GET", WHOAMI_PATH, { via: trustsForeignCa })).rejects.toMatchObject({
      code: expect.stringMatching(UNTRUSTED_SERVER) as unknown,
    });
    expect(platform.calls.total).toBe(0);
  });

  it("serves a certificate valid for both localhost and 127.0.0.1", async () => {
    const reply = await request(`https://127.0.0.1:${platform.port}${WHOAMI_PATH}`, { dispatcher: agent });
    await reply.body.dump();
    expect(reply.statusCode).toBe(401);
  });
});

describe("injected failures", () => {
  const errorKinds: [FailureKind, number, string][] = [
    ["frozen", 400, "100247"],
    ["wrongSecret", 401, "100208"],
    ["noPermission", 400, "100449"],
    ["missingParam", 400, "102202"],
    ["invalidInput", 400, "50400"],
    ["throttled", 403, "1010009"],
    ["serverError", 500, "50252"],
  ];

  it.each(errorKinds)("%s answers %i/%s and leaves the tokens alone", async (kind, status, code) => {
    const { refreshToken, accessToken } = tokens(await login());
    platform.failNext(kind);
    expectError(await refresh(refreshToken), status, code);
    expect(platform.currentAccessToken()).toBe(accessToken);
    expect(platform.pendingFailures()).toBe(0);
    tokens(await refresh(refreshToken)); // the failure consumed nothing
  });

  it("applies to either endpoint, in order, for `count` requests", async () => {
    platform.failNext("serverError", 2);
    platform.failNext("throttled");
    expectError(await login(), 500, "50252");
    expectError(await refresh("whatever"), 500, "50252");
    expectError(await login(), 403, "1010009");
    tokens(await login());
  });

  it("serverErrorNoBody answers 502 with an empty body", async () => {
    platform.failNext("serverErrorNoBody");
    const reply = await login();
    expect(reply.status).toBe(502);
    expect(reply.text).toBe("");
    expect(platform.currentAccessToken()).toBeUndefined();
  });

  it("malformed, notJson and missingField answer 200 garbage without issuing tokens", async () => {
    const { refreshToken, accessToken } = tokens(await login());
    platform.failNext("malformed");
    platform.failNext("notJson");
    platform.failNext("missingField");

    const malformed = await refresh(refreshToken);
    expect(malformed.status).toBe(200);
    expect((JSON.parse(malformed.text) as { accessToken: unknown }).accessToken).toBe(42);

    const notJson = await refresh(refreshToken);
    expect(notJson.status).toBe(200);
    expect(notJson.headers["content-type"]).toMatch(/^text\/html/);
    expect(notJson.text).toBe("<html>oops</html>");

    const missing = await refresh(refreshToken);
    expect(missing.status).toBe(200);
    const body = JSON.parse(missing.text) as Record<string, unknown>;
    expect(body).not.toHaveProperty("refreshToken");
    expect(body).toMatchObject({ tokenType: "bearer", expiresIn: 3600, scope: "default" });
    expect(platform.isValidAccessToken(body.accessToken as string)).toBe(false);

    expect(platform.currentAccessToken()).toBe(accessToken);
    expect(platform.isValidRefreshToken(refreshToken)).toBe(true);
  });

  it("reset destroys the socket without answering and without issuing tokens", async () => {
    const { refreshToken, accessToken } = tokens(await login());
    platform.failNext("reset");
    await expect(refresh(refreshToken)).rejects.toMatchObject({ code: "UND_ERR_SOCKET" });
    expect(platform.calls.refresh).toBe(1);
    expect(platform.currentAccessToken()).toBe(accessToken);
    expect(platform.isValidRefreshToken(refreshToken)).toBe(true);
  });

  it("lostAfterRotate rotates the tokens although the client only sees a socket error", async () => {
    const { refreshToken, accessToken } = tokens(await login());
    platform.failNext("lostAfterRotate");
    await expect(refresh(refreshToken)).rejects.toMatchObject({ code: "UND_ERR_SOCKET" });

    expect(platform.currentRefreshToken()).not.toBe(refreshToken);
    expect(platform.isValidRefreshToken(refreshToken)).toBe(false);
    expect(platform.isValidAccessToken(accessToken)).toBe(false);
    expect(platform.isValidAccessToken(platform.currentAccessToken()!)).toBe(true);
    expectError(await refresh(refreshToken), 401, "100208"); // the naive retry is rejected
  });

  it("lostAfterRotate answers normally when the call itself fails", async () => {
    platform.failNext("lostAfterRotate");
    expectError(await refresh("unknown"), 401, "100208");
  });

  it("slow answers normally after the delay", async () => {
    platform.failNext("slow", 1, { delayMs: 80 });
    const started = Date.now();
    tokens(await login());
    expect(Date.now() - started).toBeGreaterThanOrEqual(70);
  });

  it("slow stops waiting when the client goes away, and issues nothing", async () => {
    platform.failNext("slow", 1, { delayMs: 150 });
    const controller = new AbortController();
    const pending = send("POST", LOGIN_PATH, {
      contentType: FORM, body: `appId=${APP_ID}&secret=${SECRET}`, signal: controller.signal,
    });
    await until(() => platform.calls.login === 1);
    controller.abort();
    await expect(pending).rejects.toThrow();
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(platform.currentAccessToken()).toBeUndefined();
  });

  it("close() resolves promptly with a slow request in flight", async () => {
    platform.failNext("slow"); // default 10 s
    const pending = login();
    await until(() => platform.calls.login === 1);
    const started = Date.now();
    await platform.close();
    expect(Date.now() - started).toBeLessThan(500);
    await expect(pending).rejects.toMatchObject({ code: "UND_ERR_SOCKET" });
    expect(platform.currentAccessToken()).toBeUndefined();
    await platform.close(); // idempotent
  });

  it("setFrozen(true) answers 400/100247 to every request until unfrozen", async () => {
    const { refreshToken, accessToken } = tokens(await login());
    platform.setFrozen(true);
    expectError(await login(), 400, "100247");
    expectError(await refresh(refreshToken), 400, "100247");
    expectError(await whoami(accessToken), 400, "100247");
    platform.setFrozen(false);
    tokens(await refresh(refreshToken));
  });

  it("setSecret() makes the old secret fail with 401/100208", async () => {
    const { refreshToken } = tokens(await login());
    platform.setSecret("rotated-secret");
    expectError(await login(), 401, "100208");
    expectError(await refresh(refreshToken), 401, "100208");
    tokens(await refresh(refreshToken, { secret: "rotated-secret" }));
  });
});

describe("counters and throttling", () => {
  it("counts every request that reached the handler, failed ones included, and reset() zeroes them", async () => {
    const { refreshToken, accessToken } = tokens(await login());
    await login({ appId: APP_ID, secret: "wrong" });
    tokens(await refresh(refreshToken));
    await refresh(refreshToken);
    await whoami(accessToken);
    await send("GET", "/nowhere");
    await send("GET", REFRESH_PATH);
    expect(platform.calls).toEqual({ login: 2, refresh: 2, whoami: 1, total: 7, tlsRejected: 0 });
    platform.reset();
    expect(platform.calls).toEqual({ login: 0, refresh: 0, whoami: 0, total: 0, tlsRejected: 0 });
  });

  it("throttles the 101st login/refresh call within 60 s with 403/1010009", async () => {
    const limited = newAgent({ ca: pki.caPem, cert: pki.client.certPem, key: pki.client.keyPem });
    const wrongLogin = (): Promise<Reply> =>
      send("POST", LOGIN_PATH, { via: limited, contentType: FORM, body: `appId=${APP_ID}&secret=wrong` });
    const start = clock;
    for (let batch = 1; batch <= 10; batch++) {
      clock = start + batch * 1000; // 100 calls spread over 10 s
      const replies = await Promise.all(Array.from({ length: 10 }, wrongLogin));
      for (const reply of replies) expectError(reply, 401, "100208");
    }
    expectError(await login(), 403, "1010009");
    expect((await whoami("x")).status).toBe(401); // whoami is not part of the limit

    clock = start + 61_000; // the first batch (start + 1 s) has left the 60 s window
    expect(tokens(await login()).tokenType).toBe("bearer");
    expect(platform.calls.login).toBe(102);
  });

  it("can disable the limit", async () => {
    const unlimited = await startIotPlatform({ pki, appId: APP_ID, secret: SECRET, rateLimit: false });
    extraPlatforms.push(unlimited);
    const pooled = newAgent({ ca: pki.caPem, cert: pki.client.certPem, key: pki.client.keyPem });
    const form = new URLSearchParams({ appId: APP_ID, secret: SECRET }).toString();
    const replies = await Promise.all(
      Array.from({ length: 101 }, () =>
        send("POST", LOGIN_PATH, { on: unlimited, via: pooled, contentType: FORM, body: form }),
      ),
    );
    expect(replies.every((r) => r.status === 200)).toBe(true);
  });
});

describe("several apps on one server (addApp)", () => {
  it("keeps each app's pair, secret and counters apart, and counts a refresh token presented twice", async () => {
    const other = platform.addApp({ appId: "other-app", secret: "other-secret", accessTokenTtlSeconds: 600 });
    const mine = tokens(await login());
    const theirs = tokens(await login({ appId: "other-app", secret: "other-secret" }));
    expect(theirs.expiresIn).toBe(600);
    expect(other.currentRefreshToken()).toBe(theirs.refreshToken);
    // A refresh of one app leaves the other's pair valid.
    const body = (refreshToken: string) => JSON.stringify({ appId: "other-app", secret: "other-secret", refreshToken });
    const rotated = tokens(await send("POST", REFRESH_PATH, { contentType: JSON_TYPE, body: body(theirs.refreshToken) }));
    expect(platform.isValidRefreshToken(mine.refreshToken)).toBe(true);
    expect(other.isValidRefreshToken(rotated.refreshToken)).toBe(true);
    expect(other.isValidRefreshToken(mine.refreshToken)).toBe(false);
    expect(other.repeatedRefreshTokens).toBe(0);
    expectError(await send("POST", REFRESH_PATH, { contentType: JSON_TYPE, body: body(theirs.refreshToken) }), 401, "100208");
    expect(other.repeatedRefreshTokens).toBe(1);
    expect(other.calls).toEqual({ login: 1, refresh: 2 });
    // Secrets and access tokens are per app.
    expectError(await login({ appId: "other-app", secret: SECRET }), 401, "100208");
    expectError(await whoami(rotated.accessToken), 401, "1010005");
    expect(JSON.parse((await whoami(rotated.accessToken, "other-app")).text)).toEqual({ appId: "other-app" });
    expect(() => platform.addApp({ appId: APP_ID, secret: "x" })).toThrow(/already served/);
  });
});

describe("options", () => {
  it("rejects non-positive TTLs", async () => {
    const bad: IotPlatformOptions = { pki, appId: APP_ID, secret: SECRET, accessTokenTtlSeconds: 0 };
    await expect(startIotPlatform(bad)).rejects.toThrow(RangeError);
  });
});
