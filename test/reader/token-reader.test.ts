// The consumer's TokenReader against moto, with the real refresher (runRefresh) rotating the token
// underneath it and the IoT simulator's whoami endpoint as the protected API.
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { Agent, fetch as undiciFetch, request } from "undici";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { TokenReader, TokenUnavailableError } from "../../lambda/reader/index.js";
import { WHOAMI_PATH } from "../simulators/iot-platform.js";
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
  appId = (await readCurrent(fixture.config.clientSecretId)).json.appId as string;
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
    secretId: fixture.config.tokenSecretId,
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

  it("does not retry when the re-read finds the same token (the platform rejects the stored one)", async () => {
    const reader = newReader();
    await reader.getAccessToken();
    fixture.platform.issuePair(); // rotated on the platform, not in the secret
    const calls = fixture.platform.calls.whoami;
    const response = await whoami(reader);
    expect(response.status).toBe(401);
    expect(fixture.platform.calls.whoami - calls).toBe(1);
    expect(reader.reads).toBe(2);
    // Repeated 401s for the same token do not hammer Secrets Manager.
    expect((await whoami(reader)).status).toBe(401);
    expect(reader.reads).toBe(2);
    await rotate(); // put the platform and the secret back in step for the other tests
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
