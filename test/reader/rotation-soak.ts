// Consumers calling the IoT simulator's protected endpoint through TokenReader while the real
// refresher rotates the token underneath them: the soak test (test/reader/soak.test.ts) asserts on
// its figures and `npm run bench` (test/bench/rotation.ts) prints them.
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { setTimeout as sleep } from "node:timers/promises";
import { Agent, fetch as undiciFetch } from "undici";
import { TokenReader } from "../../lambda/reader/index.js";
import { WHOAMI_PATH } from "../../bin/local/iot-platform.js";
import { readCurrent } from "../support/aws.js";
import type { IotFixture } from "../support/iot-fixture.js";

export interface RotationSoakOptions {
  /** A started fixture; its token secret gets a pair first (a forced run). */
  readonly fixture: IotFixture;
  /**
   * A new Secrets Manager client for the refresher and for each reader, reaching moto through a
   * front that adds the latency of a region to every call.
   */
  readonly secrets: () => SecretsManagerClient;
  readonly rotations: number;
  /** Consumers in all, spread over `readers` readers (services). Default 4 over 2. */
  readonly consumers?: number;
  readonly readers?: number;
  /** Pause between the end of one refresh run and the start of the next. Default 50 ms. */
  readonly rotationPauseMs?: number;
  /** Pause between one consumer's calls. Default 10 ms. */
  readonly callPauseMs?: number;
}

export interface RotationSoakFigures {
  readonly rotations: number;
  readonly durationMs: number;
  readonly calls: number;
  /** Calls whose final answer was not 200 (or that threw). */
  readonly failures: number;
  /** Calls whose first request got 401 (the reader rode them through, or they failed). */
  readonly rejectedFirst: number;
  /** Per rotation: ms from the platform's answer to the refresher's write making the new pair AWSCURRENT. */
  readonly windowsMs: readonly number[];
  /** Per reader and rotation: GetSecretValue calls the reader made between one rotation's start and the next. */
  readonly readsPerRotation: readonly number[];
  /** Duration of each of the readers' GetSecretValue calls. */
  readonly readLatencyMs: readonly number[];
  /** Median duration of the calls whose first request succeeded. */
  readonly baselineMs: number;
  /** Per call whose first request got 401: its duration minus `baselineMs`. */
  readonly addedLatencyMs: readonly number[];
}

/** The value at quantile `q` (0..1) of `values`, nearest rank; NaN for none. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** Records when the refresher's client finished the write that made a new version AWSCURRENT. */
function recordPromotions(client: SecretsManagerClient, promotedAt: number[]): SecretsManagerClient {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const output = await next(args);
      const input = args.input as { VersionStage?: string; VersionStages?: string[] };
      const promotes =
        context.commandName === "UpdateSecretVersionStageCommand"
          ? input.VersionStage === "AWSCURRENT"
          : context.commandName === "PutSecretValueCommand" && (input.VersionStages ?? ["AWSCURRENT"]).includes("AWSCURRENT");
      if (promotes) promotedAt.push(Date.now());
      return output;
    },
    { step: "initialize", name: "recordPromotions" },
  );
  return client;
}

/** Times every GetSecretValue the client sends. */
function timeReads(client: SecretsManagerClient, readLatencyMs: number[]): SecretsManagerClient {
  client.middlewareStack.add(
    (next) => async (args) => {
      const started = performance.now();
      const output = await next(args);
      readLatencyMs.push(performance.now() - started);
      return output;
    },
    { step: "initialize", name: "timeReads" },
  );
  return client;
}

interface Call {
  readonly ms: number;
  readonly ok: boolean;
  readonly rejectedFirst: boolean;
}

export async function runRotationSoak(options: RotationSoakOptions): Promise<RotationSoakFigures> {
  const { fixture, rotations } = options;
  const readerCount = options.readers ?? 2;
  const consumerCount = options.consumers ?? 4;
  const rotationPauseMs = options.rotationPauseMs ?? 50;
  const callPauseMs = options.callPauseMs ?? 10;
  const promotedAt: number[] = [];
  const refresher = recordPromotions(options.secrets(), promotedAt);
  const rotate = async (): Promise<number> => {
    const result = await fixture.run({ force: true, secrets: refresher });
    if (result.outcome !== "Refreshed") throw new Error(`refresh run failed: ${result.outcome} ${result.reason}`);
    const issuedAt = fixture.platform.lastIssuedAt()!;
    const promoted = promotedAt.find((at) => at >= issuedAt);
    if (promoted === undefined) throw new Error("the run stored no new AWSCURRENT version after the platform answered");
    return promoted - issuedAt;
  };
  await rotate();

  const appId = (await readCurrent(fixture.config.credential.clientSecretId)).json.appId as string;
  const url = `${fixture.platform.baseUrl}${WHOAMI_PATH}`;
  const { pki } = fixture;
  /** The call ids whose first request the platform answered 401. */
  const rejected = new Set<string>();
  const readLatencyMs: number[] = [];
  const services = Array.from({ length: readerCount }, () => {
    const agent = new Agent({ connect: { ca: pki.caPem, cert: pki.client.certPem, key: pki.client.keyPem } });
    const secrets = timeReads(options.secrets(), readLatencyMs);
    const reader = new TokenReader({
      secretId: fixture.config.credential.tokenSecretId,
      secrets,
      fetch: async (input, init) => {
        const response = await undiciFetch(input, { ...(init as object), dispatcher: agent });
        if (response.status === 401) rejected.add(new Headers(init.headers).get("x-call-id")!);
        return response;
      },
    });
    return { agent, secrets, reader };
  });

  const calls: Call[] = [];
  let stop = false;
  let nextCallId = 0;
  const consume = async (reader: TokenReader): Promise<void> => {
    while (!stop) {
      const id = String(nextCallId++);
      const started = performance.now();
      let ok: boolean;
      try {
        const response = await reader.fetch(url, { headers: { app_key: appId, "x-call-id": id } });
        await response.body?.cancel();
        ok = response.status === 200;
      } catch {
        ok = false;
      }
      calls.push({ ms: performance.now() - started, ok, rejectedFirst: rejected.has(id) });
      await sleep(callPauseMs);
    }
  };

  // Each reader's first read fills its cache; it belongs to no rotation.
  await Promise.all(services.map(({ reader }) => reader.getToken()));
  const started = performance.now();
  const consumers = Array.from({ length: consumerCount }, (_, i) => consume(services[i % readerCount]!.reader));
  const windowsMs: number[] = [];
  /** Each reader's read count as each rotation starts, and at the end. */
  const snapshots: number[][] = [];
  try {
    for (let i = 0; i < rotations; i++) {
      await sleep(rotationPauseMs);
      snapshots.push(services.map(({ reader }) => reader.reads));
      windowsMs.push(await rotate());
    }
    await sleep(rotationPauseMs);
  } finally {
    stop = true;
    await Promise.all(consumers);
    for (const { agent, secrets } of services) {
      await agent.close();
      secrets.destroy();
    }
    refresher.destroy();
  }
  snapshots.push(services.map(({ reader }) => reader.reads));
  const readsPerRotation = snapshots.slice(1).flatMap((after, i) => after.map((count, r) => count - snapshots[i]![r]!));

  const baselineMs = quantile(
    calls.filter((call) => !call.rejectedFirst).map((call) => call.ms),
    0.5,
  );
  return {
    rotations,
    durationMs: performance.now() - started,
    calls: calls.length,
    failures: calls.filter((call) => !call.ok).length,
    rejectedFirst: calls.filter((call) => call.rejectedFirst).length,
    windowsMs,
    readsPerRotation,
    readLatencyMs,
    baselineMs,
    addedLatencyMs: calls.filter((call) => call.rejectedFirst).map((call) => call.ms - baselineMs),
  };
}
