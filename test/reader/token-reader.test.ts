// The consumer's TokenReader against moto, with the real refresher (runRefresh) rotating the token
// underneath it and the IoT simulator's whoami endpoint as the protected API.
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { Agent, fetch as undiciFetch, request } from "undici";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { setTimeout as sleep } from "node:timers/promises";
import { TokenReader, TokenUnavailableError } from "../../lambda/reader/index.js";
import { DEFAULT_ROTATION_WAIT_MS, pollDelays } from "../../lambda/reader/token-reader.js";
import { WHOAMI_PATH } from "../../bin/local/iot-platform.js";
import { createSecret, putAsCurrent, readCurrent, uniqueName } from "../support/aws.js";
import { IotFixture } from "../support/iot-fixture.js";
import { installLeakGuard } from "../support/leak-guard.js";

installLeakGuard();

let fixture: IotFixture;
let agent: Agent;
let appId: string;
let whoamiUrl: string;
/** VersionStage of every GetSecretValue the reader's client sent. */
let stages: (string | undefined)[];
let secrets: SecretsManagerClient;

beforeAll(async () => {
  fixture = await IotFixture.start();
  appId = (await readCurrent(fixture.config.credential.clientSecretId)).json.appId as string;
  agent = new Agent({ connect: { ca: fixture.pki.caPem, cert: fixture.pki.client.certPem, key: fixture.pki.client.keyPem } });
  whoamiUrl = `${fixture.platform.baseUrl}${WHOAMI_PATH}`;
  expect((await fixture.run({ force: true })).reason).toBe("logged-in");
});

afterAll(async () => {
  await agent.close();
  await fixture.close();
});

beforeEach(() => {
  stages = [];
  secrets = new SecretsManagerClient({});
  secrets.middlewareStack.add(
    (next) => (args) => {
      stages.push((args.input as { VersionStage?: string }).VersionStage);
      return next(args);
    },
    { step: "initialize", name: "recordReads" },
  );
});

afterEach(() => {
  // Every read was by AWSCURRENT, never the default read.
  expect(stages.every((stage) => stage === "AWSCURRENT")).toBe(true);
  secrets.destroy();
});

/** The refresher's real workflow replaces the pair: the platform now rejects the previous access token. */
async function rotate(): Promise<void> {
  expect((await fixture.run({ force: true })).outcome).toBe("Refreshed");
}

function newReader(options: Partial<ConstructorParameters<typeof TokenReader>[0]> = {}): TokenReader {
  return new TokenReader({
    secretId: fixture.config.credential.tokenSecretId,
    secrets,
    // The simulator needs mutual TLS: the consumer passes a fetch bound to its agent.
    fetch: (input, init) => undiciFetch(input, { ...(init as object), dispatcher: agent }),
    ...options,
  });
}

const whoami = (reader: TokenReader) => reader.fetch(whoamiUrl, { headers: { app_key: appId } });

describe("TokenReader", () => {
  it("after a rotation, the cached token gets 401, the reader re-reads once and the retry succeeds", async () => {
    const reader = newReader();
    const first = await reader.getAccessToken();
    expect(fixture.platform.isValidAccessToken(first)).toBe(true);
    expect((await whoami(reader)).status).toBe(200);
    expect(reader.reads).toBe(1);

    await rotate();
    const calls = fixture.platform.calls.whoami;
    const response = await whoami(reader);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ appId });
    expect(fixture.platform.calls.whoami - calls).toBe(2); // old token → 401, new token → 200
    expect(reader.reads).toBe(2); // exactly one re-read
    expect(stages).toHaveLength(2);
    expect(await reader.getAccessToken()).not.toBe(first);
  });

  it("many concurrent requests that all get 401 share one re-read", async () => {
    const reader = newReader();
    await reader.getAccessToken();
    await rotate();
    const answers = await Promise.all(Array.from({ length: 8 }, () => whoami(reader)));
    expect(answers.map((a) => a.status)).toEqual(Array(8).fill(200));
    expect(reader.reads).toBe(2);
  });

  it("withToken retries once after a 401 with any client (undici.request here)", async () => {
    const reader = newReader();
    await reader.getAccessToken();
    await rotate();
    const seen: string[] = [];
    const answer = await reader.withToken(async (token) => {
      seen.push(token);
      const response = await request(whoamiUrl, { dispatcher: agent, headers: { authorization: `Bearer ${token}`, app_key: appId } });
      await response.body.dump();
      return response;
    });
    expect(answer.statusCode).toBe(200);
    expect(seen).toHaveLength(2);
    expect(seen[0]).not.toBe(seen[1]);
    expect(reader.reads).toBe(2);
  });

  it("rides through a rotation in progress: callers that get 401 share one poll until the new pair is stored", async () => {
    const reader = newReader();
    await reader.getAccessToken();
    // The platform has answered the refresher (the stored token is dead), the new pair is not stored yet.
    const document = fixture.pairDocument(3600);
    const stored = sleep(300).then(() => putAsCurrent(fixture.config.credential.tokenSecretId, document));
    const started = Date.now();
    const answers = await Promise.all([...Array.from({ length: 6 }, () => whoami(reader)), sleep(100).then(() => whoami(reader))]);
    const elapsed = Date.now() - started;
    await stored;
    expect(answers.map((a) => a.status)).toEqual(Array(7).fill(200));
    expect(await reader.getAccessToken()).toBe(document.accessToken);
    // One poll for all seven (reads at 0, 50, 150, 350 ms... after the first 401), not one each.
    expect(reader.reads - 1).toBeGreaterThanOrEqual(2);
    expect(reader.reads - 1).toBeLessThanOrEqual(pollDelays(DEFAULT_ROTATION_WAIT_MS).length + 1);
    expect(elapsed).toBeLessThan(DEFAULT_ROTATION_WAIT_MS);
  });

  it("a token revoked for real: the 401 reaches the caller after the bounded wait, then at once for minRereadSeconds", async () => {
    const { json } = await readCurrent(fixture.config.credential.clientSecretId);
    let offset = 0;
    const reader = newReader({ now: () => Date.now() + offset });
    const revoked = await reader.getAccessToken();
    // The app's secret changed in the console and the stored pair was replaced: nothing will rotate the secret.
    fixture.platform.setSecret(`changed-${String(json.secret)}`);
    fixture.platform.issuePair();
    expect((await fixture.run({ force: true })).outcome).toBe("CredentialRejected");

    let started = Date.now();
    const rejected = await Promise.all(Array.from({ length: 4 }, () => whoami(reader)));
    const waited = Date.now() - started;
    expect(rejected.map((a) => a.status)).toEqual(Array(4).fill(401));
    expect(waited).toBeGreaterThanOrEqual(DEFAULT_ROTATION_WAIT_MS);
    expect(waited).toBeLessThan(DEFAULT_ROTATION_WAIT_MS + 1_500);
    // The first read, then one poll shared by the four callers.
    const pollReads = pollDelays(DEFAULT_ROTATION_WAIT_MS).length + 1;
    expect(reader.reads).toBe(1 + pollReads);

    // Within the pause: the 401 comes back at once, nothing is read.
    started = Date.now();
    for (let i = 0; i < 5; i++) expect((await whoami(reader)).status).toBe(401);
    expect(Date.now() - started).toBeLessThan(500);
    expect(reader.reads).toBe(1 + pollReads);
    expect(await reader.getAccessToken()).toBe(revoked);

    // An operator puts the right secret back and runs the refresher; after the pause the reader finds the new pair.
    fixture.platform.setSecret(String(json.secret));
    expect((await fixture.run({ force: true })).outcome).toBe("Refreshed");
    offset += 5_000;
    expect((await whoami(reader)).status).toBe(200);
    expect(reader.reads).toBe(2 + pollReads);
  });

  it("caches until refreshMarginSeconds before expiresAt, and coalesces concurrent reads", async () => {
    let now = Date.now();
    const reader = newReader({ now: () => now, refreshMarginSeconds: 120 });
    const tokens = await Promise.all(Array.from({ length: 10 }, () => reader.getAccessToken()));
    expect(new Set(tokens).size).toBe(1);
    expect(reader.reads).toBe(1);
    const { expiresAt } = await reader.getToken();
    now = expiresAt.getTime() - 121_000;
    await reader.getAccessToken();
    expect(reader.reads).toBe(1);
    now = expiresAt.getTime() - 119_000;
    await reader.getAccessToken();
    expect(reader.reads).toBe(2);
    // Inside the margin with no newer token stored: it is still used, re-read at most every 5 s.
    await reader.getAccessToken();
    expect(reader.reads).toBe(2);
    now += 5_000;
    await reader.getAccessToken();
    expect(reader.reads).toBe(3);
  });

  it("polls 2 s in all after a 401, 50 ms doubling, and refuses a wait that is not a number of ms", () => {
    expect(pollDelays(DEFAULT_ROTATION_WAIT_MS)).toEqual([50, 100, 200, 400, 800, 450]);
    expect(pollDelays(0)).toEqual([]);
    for (const rotationWaitMs of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => newReader({ rotationWaitMs })).toThrow(/rotationWaitMs must be a number of milliseconds >= 0/);
    }
  });

  it("says clearly when there is no token, or it has expired", async () => {
    const empty = uniqueName("reader-empty");
    await createSecret(empty, {});
    const reader = new TokenReader({ secretId: empty, secrets });
    await expect(reader.getAccessToken()).rejects.toThrow(TokenUnavailableError);
    await expect(reader.getAccessToken()).rejects.toThrow(/holds no access token yet/);

    await putAsCurrent(empty, { accessToken: "expired-access-token", refreshToken: "r", expiresAt: new Date(Date.now() - 1_000).toISOString() });
    await expect(reader.getAccessToken()).rejects.toThrow(/expired at .*the refresher is not keeping it fresh/);
  });
});
