// The fleet's simulated hour (issue 16): 1,000 credentials (IoT simulator apps and oidc-provider
// grants, half each) registered and all due at once, then an hour of the scheduler every minute and
// workers draining the work queue, against moto behind an AWS front that allows 50 Secrets Manager
// writes per second. Compressed clock: the front's clock (AWS's time for every run, and the IoT
// simulator's) jumps to the next minute once a minute's work is done; inside a minute time runs for
// real, so the write rate, the queue's delays and the budget are the real ones.
import { GetSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import { ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startMoto, type MotoServer } from "../../bin/local/moto.js";
import { startIotPlatform, type IotApp, type IotPlatform } from "../../bin/local/iot-platform.js";
import type { TestPki } from "../../bin/local/pki.js";
import type { ScheduleResult } from "../../lambda/fleet/scheduler.js";
import { startAwsFront, type AwsFront } from "../support/aws-front.js";
import { uniqueName } from "../support/aws.js";
import {
  QueuePump,
  addIotCredential,
  addOAuth2Credential,
  createFleetParts,
  fleetRuntime,
  fleetScheduler,
  fleetWorker,
  type FleetCredential,
  type FleetParts,
} from "../support/fleet.js";
import { FAST_RETRY, testPki } from "../support/iot-fixture.js";
import { startAuthServer, type AuthServer } from "../oauth2/auth-server.js";

const CREDENTIALS = 1_000;
const MINUTES = 60;
const MINUTE = 60_000;
/** Access-token lifetimes (minutes), in turn: with the 15-minute window, those of 45 minutes are refreshed twice within the hour. */
const LIFETIMES_MINUTES = [45, 90, 105, 120, 150] as const;
/** The IoT pairs stored at the start have 14 minutes left: inside the window, all due at once. */
const SEEDED_SECONDS_LEFT = 14 * 60;
/** Worker invocations at once (the event source's MaximumConcurrency), each up to 10 messages. */
const POLLERS = 2;
/**
 * One moto process answers every AWS call of the fleet (about 13 a run), and the front forwards a
 * table's writes one at a time, so a minute's claims queue ahead of the runs' writes: an AWS request
 * may wait seconds here that it would not in AWS.
 */
const AWS_REQUEST_TIMEOUT_MS = 10_000;
const SETUP_PARALLEL = 16;

interface Credential extends FleetCredential {
  readonly dialect: "iot" | "oauth2";
  /** Epoch ms the pair stored at the start expires (none for the OAuth2 credentials: a refresh token only). */
  readonly seededExpiresAt?: number;
  readonly app?: IotApp;
  readonly server?: AuthServer;
  readonly initialRefreshToken?: string;
}

let moto: MotoServer;
let front: AwsFront;
let pki: TestPki;
let platform: IotPlatform;
const servers: AuthServer[] = [];

beforeAll(async () => {
  // A moto of its own: the fleet's load stays off the suite's moto (one Python process for every other file).
  moto = await startMoto();
  front = await startAwsFront({ upstream: moto.endpoint, writesPerSecond: 50 });
  pki = await testPki();
  platform = await startIotPlatform({ pki, appId: uniqueName("unused"), secret: "unused-secret", rateLimit: false, now: () => front.clock.now() });
});

afterAll(async () => {
  await platform?.close();
  await Promise.all(servers.map((server) => server.close()));
  await front?.close();
  await moto?.stop();
});

/** `work` over `items`, `parallel` at a time. */
async function inBatches<T, R>(items: readonly T[], parallel: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let start = 0; start < items.length; start += parallel) {
    results.push(...(await Promise.all(items.slice(start, start + parallel).map((item, offset) => work(item, start + offset)))));
  }
  return results;
}

async function registerFleet(parts: FleetParts): Promise<Credential[]> {
  const clients = await Promise.all(
    LIFETIMES_MINUTES.map(async (minutes) => {
      const client = { clientId: uniqueName("client"), clientSecret: `cs-${uniqueName("secret")}-${uniqueName("secret")}` };
      const server = await startAuthServer({ pki, ...client, accessTokenTtlSeconds: minutes * 60 });
      servers.push(server);
      return { server, client };
    }),
  );
  const slots = Array.from({ length: CREDENTIALS }, (_, index) => index);
  return inBatches(slots, SETUP_PARALLEL, async (index): Promise<Credential> => {
    const lifetime = LIFETIMES_MINUTES[Math.floor(index / 2) % LIFETIMES_MINUTES.length]!;
    const now = front.clock.now();
    if (index % 2 === 0) {
      const credential = await addIotCredential(parts, platform, pki, { now, secondsLeft: SEEDED_SECONDS_LEFT, accessTokenTtlSeconds: lifetime * 60 });
      return { ...credential, dialect: "iot", seededExpiresAt: now + SEEDED_SECONDS_LEFT * 1000 };
    }
    const { server, client } = clients[LIFETIMES_MINUTES.indexOf(lifetime)]!;
    return { ...(await addOAuth2Credential(parts, server, client, pki, now)), dialect: "oauth2", server };
  });
}

/** The largest number of `times` (epoch ms) inside any one-second window. */
function maxPerSecond(times: readonly number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let first = 0, last = 0; last < sorted.length; last++) {
    while (sorted[last]! - sorted[first]! >= 1_000) first++;
    most = Math.max(most, last - first + 1);
  }
  return most;
}

async function waitUntil(condition: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe("a fleet of 1,000 credentials for a simulated hour", () => {
  it("refreshes every credential before its window closes: 0 double platform calls, 0 lost pairs, 0 ThrottlingException at 50 writes/s", async () => {
    const wallStart = Date.now();
    const parts = await createFleetParts(front.endpoint);
    const credentials = await registerFleet(parts);
    const setupMs = Date.now() - wallStart;

    const lines: Record<string, unknown>[] = [];
    const write = (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>);
    const scheduler = fleetScheduler(parts, { writeBudgetPerSecond: 20, write, awsRequestTimeoutMs: AWS_REQUEST_TIMEOUT_MS });
    const runtime = fleetRuntime(parts.stateTableName, { awsRequestTimeoutMs: AWS_REQUEST_TIMEOUT_MS });
    const { worker } = fleetWorker(parts, runtime, { writeBudgetPerSecond: 20, write, run: { retryPolicy: FAST_RETRY } });
    front.reset({ quota: true });
    const pump = new QueuePump(parts.clients.sqs, parts.workQueueUrl, worker, POLLERS);

    const start = front.clock.now();
    const ticks: ScheduleResult[] = [];
    try {
      for (let minute = 0; minute < MINUTES; minute++) {
        const target = start + minute * MINUTE;
        if (front.clock.now() < target) front.clock.set(target);
        const seen = pump.outcomes.length;
        const tick = await scheduler.run();
        ticks.push(tick);
        // The minute's messages arrive over up to 59 s of real time (DelaySeconds): the clock moves on once each has run.
        const pending = new Set(tick.enqueuedCredentials);
        await waitUntil(
          () => {
            for (const outcome of pump.outcomes.slice(seen)) if (outcome.kind !== "failed") pending.delete(outcome.credential);
            return pending.size === 0;
          },
          180_000,
          () => `minute ${minute}: ${pending.size} of ${tick.enqueued} messages not run`,
        );
      }
    } finally {
      await pump.stop();
    }
    const end = front.clock.now();
    const simulatedMs = Date.now() - wallStart - setupMs;

    // The burst: all 1,000 due at once, paced at 20 writes/s (10 refreshes/s, 600 a minute).
    expect(ticks[0]).toMatchObject({ due: CREDENTIALS, enqueued: 600, deferred: 400 });
    expect(ticks[1]).toMatchObject({ enqueued: 400, deferred: 0 });
    expect(ticks.every((tick) => tick.overdue.length === 0)).toBe(true);

    // Every message ran: none dropped, none returned to the queue, nothing left in it.
    expect(pump.outcomes.filter((outcome) => outcome.kind !== "ran")).toEqual([]);
    expect((await parts.clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: parts.workQueueUrl, WaitTimeSeconds: 0 }))).Messages ?? []).toEqual([]);

    // Every credential refreshed before its window closed: each refresh before the previous pair expired, and a live pair at the end.
    const runs = lines.filter((line) => line.outcome !== undefined);
    const refreshes = runs.filter((line) => line.outcome === "Refreshed");
    expect(runs.filter((line) => line.outcome !== "Refreshed" && line.outcome !== "Skipped")).toEqual([]);
    const late: string[] = [];
    for (const credential of credentials) {
      const own = refreshes.filter((line) => line.Credential === credential.name).map((line) => ({ at: (line._aws as { Timestamp: number }).Timestamp, expiresAt: Date.parse(line.expiresAt as string) }));
      let validUntil = credential.seededExpiresAt ?? Infinity;
      for (const refresh of own) {
        if (refresh.at >= validUntil) late.push(`${credential.name} refreshed at ${new Date(refresh.at).toISOString()}, after ${new Date(validUntil).toISOString()}`);
        validUntil = refresh.expiresAt;
      }
      if (own.length === 0 || validUntil <= end) late.push(`${credential.name}: no live pair at the end`);
    }
    expect(late).toEqual([]);
    const twice = LIFETIMES_MINUTES.filter((minutes) => minutes - 15 + 2 < MINUTES).length / LIFETIMES_MINUTES.length;
    expect(refreshes.length).toBe(CREDENTIALS + CREDENTIALS * twice);

    // 0 double platform calls: one call per refresh, no refresh token ever presented twice.
    const iot = credentials.filter((credential) => credential.dialect === "iot");
    const iotCalls = iot.reduce((sum, credential) => sum + credential.app!.calls.refresh + credential.app!.calls.login, 0);
    const oauth2Calls = servers.reduce((sum, server) => sum + server.tokenRequests, 0);
    const iotRefreshes = refreshes.filter((line) => iot.some((credential) => credential.name === line.Credential)).length;
    expect(iotCalls).toBe(iotRefreshes);
    expect(oauth2Calls).toBe(refreshes.length - iotRefreshes);
    expect(iot.reduce((sum, credential) => sum + credential.app!.repeatedRefreshTokens, 0)).toBe(0);
    expect(servers.reduce((sum, server) => sum + server.repeatedRefreshTokens, 0)).toBe(0);
    expect(servers.flatMap((server) => server.grantErrors)).toEqual([]);

    // 0 lost pairs: every stored pair is the one its platform honours now, and each refresh made exactly one version.
    const lost = (
      await inBatches(credentials, SETUP_PARALLEL, async (credential) => {
        const stored = JSON.parse((await parts.clients.secrets.send(new GetSecretValueCommand({ SecretId: credential.tokenSecretId, VersionStage: "AWSCURRENT" }))).SecretString!) as Record<string, string>;
        const refreshed = refreshes.filter((line) => line.Credential === credential.name).length;
        const honoured =
          credential.dialect === "iot"
            ? credential.app!.isValidRefreshToken(stored.refreshToken!) && credential.app!.isValidAccessToken(stored.accessToken!)
            : (await credential.server!.provider.RefreshToken.find(stored.refreshToken!))?.consumed === undefined;
        return honoured && front.versionsCreated(credential.tokenSecretId) === refreshed ? [] : [credential.name];
      })
    ).flat();
    expect(lost).toEqual([]);

    // 0 ThrottlingException at the front's 50 writes/s; the fleet kept to its budget of 20.
    const writes = front.calls({ service: "secretsmanager" }).filter((call) => call.operation === "PutSecretValue" || call.operation === "UpdateSecretVersionStage");
    expect(front.calls({ outcome: "ThrottlingException" })).toEqual([]);
    expect(writes.length).toBe(2 * refreshes.length);
    const peak = maxPerSecond(writes.map((call) => call.at));
    expect(peak).toBeLessThanOrEqual(50);

    // No token or secret in any line the scheduler or the workers wrote.
    const printed = new Set(JSON.stringify(lines).match(/[A-Za-z0-9_-]{20,}/g));
    const known = credentials.flatMap((credential) => (credential.app ? [credential.app.currentAccessToken(), credential.app.currentRefreshToken()] : [credential.initialRefreshToken]));
    expect(known.filter((value) => value !== undefined && printed.has(value))).toEqual([]);

    console.log(
      JSON.stringify({
        simulatedHour: {
          credentials: CREDENTIALS,
          runs: runs.length,
          refreshes: refreshes.length,
          platformCalls: iotCalls + oauth2Calls,
          secretWrites: writes.length,
          peakWritesPerSecond: peak,
          setupSeconds: Math.round(setupMs / 1000),
          hourSeconds: Math.round(simulatedMs / 1000),
        },
      }),
    );
  }, 420_000);
});
