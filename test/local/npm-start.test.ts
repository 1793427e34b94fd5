// `npm start` (bin/local.ts): the refresh job on a fast local schedule, as a real process.
import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { runLocal } from "../../bin/local/runner.js";
import { IotFixture } from "../support/iot-fixture.js";
import { installLeakGuard, leakedSecrets, registerSensitive } from "../support/leak-guard.js";

installLeakGuard();

interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
}

/** Demo settings that make a refresh, a skip and the frozen app appear within a few seconds. */
const FAST = { INTERVAL_SECONDS: "0.5", ACCESS_TOKEN_TTL_SECONDS: "3", REFRESH_WINDOW_SECONDS: "1", FREEZE_AFTER_RUNS: "4", UNFREEZE_AFTER_RUNS: "4" };

/** Spawns the command; `onOutput` sees the output so far and may signal the child. */
function start(command: string, args: string[], env: Record<string, string>, onOutput?: (output: string, kill: (signal: NodeJS.Signals) => void) => void): Promise<Finished> {
  const base = { ...process.env };
  // Demo mode: none of the real-mode variables.
  for (const name of ["ENDPOINT_URL", "CLIENT_SECRET_ID", "TOKEN_SECRET_ID", "RUNS"]) delete base[name];
  const child = spawn(command, args, { env: { ...base, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
    onOutput?.(output, (signal) => child.kill(signal));
  };
  child.stdout.on("data", collect);
  child.stderr.on("data", collect);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`timed out; output so far:\n${output}`));
    }, 40_000);
    child.once("error", reject);
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, output });
    });
  });
}

const runLines = (output: string) => output.split("\n").filter((line) => /^\d\d:\d\d:\d\dZ +\d+ {2}/.test(line));

async function motoIsGone(output: string): Promise<boolean> {
  const endpoint = /moto_server +(http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
  expect(endpoint).toBeDefined();
  return fetch(`${endpoint}/moto-api/`).then(
    () => false,
    () => true,
  );
}

/** Nothing that looks like a token (43-char base64url) or a private key reaches the output. */
function expectNoSecretMaterial(output: string): void {
  expect(output).not.toMatch(/PRIVATE KEY/);
  expect(output).not.toMatch(/[A-Za-z0-9_-]{40,}/);
}

describe("npm start", () => {
  it.concurrent("demo: logs in, skips, refreshes, shows the frozen app raising AppFrozen, recovers, and exits cleanly after RUNS", async () => {
    const done = await start("npm", ["start", "--silent"], { ...FAST, RUNS: "10" });
    expect(done.code, done.output).toBe(0);
    const lines = runLines(done.output);
    expect(lines).toHaveLength(10);
    expect(lines[0]).toMatch(/^\S+ +1 {2}Refreshed +logged-in +\ds$/);
    expect(lines.some((line) => /Skipped +not-due +\ds$/.test(line))).toBe(true);
    expect(lines.slice(0, 4).some((line) => /Refreshed +refreshed +\ds$/.test(line))).toBe(true);
    const frozen = lines.findIndex((line) => /AppFrozen +PlatformError +\S+ +HTTP 400 error_code 100247$/.test(line));
    expect(frozen, done.output).toBeGreaterThanOrEqual(4);
    expect(frozen).toBeLessThan(8);
    expect(done.output).toContain("after run 4: the app is frozen in the simulator");
    expect(done.output).toMatch(/EMF +RefreshSucceeded=0 RefreshSkipped=0 RefreshFailed=1 CredentialRejected=0 AppFrozen=1 AccessTokenTtl=\d+/);
    expect(done.output).toContain("ALARM  AppFrozen >= 1: the AppFrozen alarm goes to ALARM and notifies the on-call SNS topic (runbook: AppFrozen)");
    expect(done.output).toContain("OK     the AppFrozen alarm returns to OK");
    expect(done.output).toContain("after run 8: the app is unfrozen");
    expect(lines.slice(8).some((line) => /Refreshed +refreshed/.test(line))).toBe(true);
    expect(done.output).toMatch(/done: simulator and moto_server shut down\n$/);
    expect(done.output).not.toContain("Warning");
    expectNoSecretMaterial(done.output);
    expect(await motoIsGone(done.output)).toBe(true);
  });

  it.concurrent("demo: stops cleanly on SIGTERM", async () => {
    let sent = false;
    const done = await start(process.execPath, ["--import", "tsx", "bin/local.ts"], { ...FAST, INTERVAL_SECONDS: "0.3" }, (output, kill) => {
      if (!sent && runLines(output).length >= 2) {
        sent = true;
        kill("SIGTERM");
      }
    });
    expect(sent).toBe(true);
    expect([done.code, done.signal], done.output).toEqual([0, null]);
    expect(done.output).toContain("SIGTERM: stopping after the current run");
    expect(done.output).toMatch(/stopped: simulator and moto_server shut down\n$/);
    expect(await motoIsGone(done.output)).toBe(true);
  });

  it("real mode: with ENDPOINT_URL and both secret ids set, refreshes that credential without starting moto or a simulator", async () => {
    const fixture = await IotFixture.start();
    try {
      let output = "";
      const code = await runLocal({
        env: {
          ...process.env,
          CREDENTIAL_NAME: "real-mode",
          CLIENT_SECRET_ID: fixture.config.credential.clientSecretId,
          TOKEN_SECRET_ID: fixture.config.credential.tokenSecretId,
          STATE_TABLE_NAME: fixture.config.runtime.stateTableName,
          ENDPOINT_URL: fixture.platform.baseUrl,
          EVENT_BUS_NAME: "",
          RUNS: "2",
          INTERVAL_SECONDS: "0.1",
        },
        write: (text) => (output += text),
        signal: new AbortController().signal,
      });
      registerSensitive(fixture.platform.currentAccessToken(), fixture.platform.currentRefreshToken());
      expect(code).toBe(0);
      expect(output).toContain(`token-refresher local run: credential real-mode (iot) at ${fixture.platform.baseUrl}`);
      expect(output).not.toContain("moto_server");
      const lines = runLines(output);
      // Validity is counted on AWS's clock, good to about a second: just under or just at an hour.
      expect(lines[0]).toMatch(/1 {2}Refreshed +logged-in +(59m \d+s|1h)$/);
      expect(lines[1]).toMatch(/2 {2}Skipped +not-due +(59m \d+s|1h)$/);
      expect(await fixture.storedPairIsCurrent()).toBe(true);
      expect(leakedSecrets(output)).toEqual([]);
    } finally {
      await fixture.close();
    }
  });

  it("rejects a bad setting with exit code 2", async () => {
    let output = "";
    const code = await runLocal({ env: { RUNS: "many" }, write: (text) => (output += text), signal: new AbortController().signal });
    expect(code).toBe(2);
    expect(output).toBe('error: RUNS must be a whole number between 1 and 1000000, got "many"\n');
  });
});
