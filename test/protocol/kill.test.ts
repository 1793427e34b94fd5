// `kill -9` at every step of a run: the real Lambda entry runs in a child process (as a crashed
// Lambda would), the test's AWS front holds the chosen call open, the test kills the child there,
// and the next runs must heal — a working pair stored, no pair the platform honours dropped.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { afterEach, beforeAll, describe, expect, vi } from "vitest";
import type { RefresherConfig } from "../../lambda/config/index.js";
import type { TestSettings } from "../support/aws.js";
import type { RefreshResult } from "../../lambda/telemetry/telemetry.js";
import type { AwsFront, FaultSpec } from "../support/aws-front.js";
import { IotFixture } from "../support/iot-fixture.js";
import { createTestPki, type TestPki } from "../../bin/local/pki.js";
import { lambdaEnvironment } from "../support/refresher.js";
import { createCredential } from "../oauth2/fixture.js";
import { test } from "./front.js";

/** Short lease and budget, so a dead holder's lease expires within the test. */
const FAST_LEASE: TestSettings = { leaseSeconds: 2, runBudgetMs: 1_500, httpTimeoutMs: 1_000, awsRequestTimeoutMs: 5_000, eventBusName: "default" };

interface KillPoint {
  readonly step: string;
  /** The call the front holds open; the child is killed while it hangs. */
  readonly hang: (config: RefresherConfig) => FaultSpec;
}

const secretCall = (operation: string, secret: (config: RefresherConfig) => string, nth = 1) => (config: RefresherConfig): FaultSpec => ({
  service: "secretsmanager",
  operation,
  resource: secret(config),
  nth,
  fault: "hang",
});
const stateCall = (operation: string, nth = 1) => (config: RefresherConfig): FaultSpec => ({
  service: "dynamodb",
  operation,
  resource: config.runtime.stateTableName,
  nth,
  fault: "hang",
});

const KILL_POINTS: readonly KillPoint[] = [
  { step: "reading the token secret", hang: secretCall("GetSecretValue", (c) => c.credential.tokenSecretId) },
  { step: "reading the state", hang: stateCall("GetItem") },
  { step: "reading the client secret", hang: secretCall("GetSecretValue", (c) => c.credential.clientSecretId) },
  { step: "taking the lease", hang: stateCall("UpdateItem") },
  { step: "storing the pair", hang: secretCall("PutSecretValue", (c) => c.credential.tokenSecretId) },
  { step: "promoting the pair", hang: secretCall("UpdateSecretVersionStage", (c) => c.credential.tokenSecretId) },
  { step: "releasing the lease", hang: stateCall("UpdateItem", 2) },
  { step: "publishing the event", hang: () => ({ service: "events", operation: "PutEvents", fault: "hang" }) },
];

let pki: TestPki;
/** The entry bundled once, as Lambda runs a bundle: a child starts in a fraction of a second. */
let entry: string;
const cleanups: (() => Promise<unknown>)[] = [];
beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), "kill-"));
  entry = join(dir, "run-handler.mjs");
  await build({
    entryPoints: ["test/support/run-handler.ts"],
    outfile: entry,
    bundle: true,
    platform: "node",
    format: "esm",
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    logLevel: "silent",
  });
  pki = await createTestPki();
});
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

/** Starts the Lambda entry in a child process against `front`, and kills it (SIGKILL) once `until` holds. */
async function killDuring(config: RefresherConfig, front: AwsFront, until: () => boolean): Promise<void> {
  const child: ChildProcess = spawn(process.execPath, [entry], {
    env: { ...process.env, ...lambdaEnvironment(config), AWS_ENDPOINT_URL: front.endpoint },
    stdio: "ignore",
  });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  cleanups.push(async () => {
    child.kill("SIGKILL");
    await exited;
  });
  await vi.waitFor(() => expect(until()).toBe(true), { timeout: 15_000, interval: 10 });
  child.kill("SIGKILL");
  await exited;
}

const hanging = (front: AwsFront, spec: FaultSpec) => () =>
  front.calls({ service: spec.service, operation: spec.operation, outcome: "hung" }).some((call) => !spec.resource || call.resource?.includes(spec.resource));

describe("IoT: the next runs heal after a kill at any step", () => {
  test.for(KILL_POINTS)("killed while $step", async (point, { front }) => {
    const f = await IotFixture.start({ config: FAST_LEASE });
    cleanups.push(() => f.close());
    await f.seed(60);
    const spec = point.hang(f.config);
    front.inject(spec);
    await killDuring(f.config, front, hanging(front, spec));
    front.reset();
    f.platform.reset();

    // Runs keep coming (as the schedule would) until the credential has a working pair again.
    await vi.waitFor(
      async () => {
        const result = await f.run({ endpoint: front.endpoint });
        expect(["Refreshed", "Skipped"]).toContain(result.outcome);
        expect(await f.storedPairIsCurrent()).toBe(true);
      },
      { timeout: 10_000, interval: 250 },
    );
    // Healing costs at most one refresh and one login (the login only where the pair died with the child).
    expect(f.platform.calls.refresh + f.platform.calls.login).toBeLessThanOrEqual(2);
  });

  test("killed during the platform call: the next run heals, with one login at most", async ({ front }) => {
    const f = await IotFixture.start({ config: FAST_LEASE });
    cleanups.push(() => f.close());
    await f.seed(60);
    f.platform.reset();
    f.platform.failNext("slow", 1, { delayMs: 5_000 });
    await killDuring(f.config, front, () => f.platform.calls.refresh === 1);
    await vi.waitFor(
      async () => {
        await f.run({ endpoint: front.endpoint });
        expect(await f.storedPairIsCurrent()).toBe(true);
      },
      { timeout: 10_000, interval: 250 },
    );
  });

  test("killed after storing, before promoting: the next run promotes the stored pair without an API call", async ({ front }) => {
    const f = await IotFixture.start({ config: FAST_LEASE });
    cleanups.push(() => f.close());
    await f.seed(60);
    const spec = secretCall("UpdateSecretVersionStage", (c) => c.credential.tokenSecretId)(f.config);
    front.inject(spec);
    await killDuring(f.config, front, hanging(front, spec));
    front.reset();
    f.platform.reset();
    const results: RefreshResult[] = [];
    await vi.waitFor(
      async () => {
        results.push(await f.run({ endpoint: front.endpoint }));
        expect(results.at(-1)).toMatchObject({ outcome: "Refreshed", reason: "completed-pending", apiCalls: 0 });
      },
      { timeout: 10_000, interval: 250 },
    );
    expect(f.platform.calls.total).toBe(0);
    expect(await f.storedPairIsCurrent()).toBe(true);
  });
});

describe("strict OAuth2: which kill points lose the grant", () => {
  // Between the server's answer and the first write, the rotated pair exists only in the killed
  // process: nobody can recover it, and the server revokes the grant when the old token comes back.
  const LOSES_GRANT = new Set(["storing the pair"]);

  test.for(KILL_POINTS)("killed while $step", async (point, { front }) => {
    const c = await createCredential(pki, { config: FAST_LEASE, runner: { endpoint: front.endpoint } });
    cleanups.push(() => c.server.close());
    const spec = point.hang(c.config);
    front.inject(spec);
    await killDuring(c.config, front, hanging(front, spec));
    front.reset();
    // Once the dead holder's lease has expired, a forced run completes what it left and refreshes
    // with the stored refresh token: it succeeds exactly when the grant survived.
    let result: RefreshResult | undefined;
    await vi.waitFor(
      async () => {
        result = await c.run({ force: true });
        expect(result.reason).not.toBe("busy");
      },
      { timeout: 10_000, interval: 250 },
    );
    expect(result?.outcome).toBe(LOSES_GRANT.has(point.step) ? "CredentialRejected" : "Refreshed");
  });
});
