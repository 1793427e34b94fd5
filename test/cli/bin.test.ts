// The packaged command as operators run it: the esbuild bundle (bin/build.mjs, current with the sources
// under test: the global setup builds it) that package.json "bin" points to, spawned as a real process
// against moto and the IoT simulator.
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startIotPlatform, type IotPlatform } from "../../bin/local/iot-platform.js";
import { readCurrent, uniqueName } from "../support/aws.js";
import { testPki } from "../support/iot-fixture.js";
import { installLeakGuard, leakedSecrets, registerSensitive } from "../support/leak-guard.js";
import type { TestPki } from "../../bin/local/pki.js";
import { createStateTable } from "../support/refresher.js";

installLeakGuard();
const exec = promisify(execFile);

let pki: TestPki;
let platform: IotPlatform;
let binPath: string;
const appId = uniqueName("bin-app");
const appSecret = `bin-secret-${uniqueName("s")}`;

beforeAll(async () => {
  const pkg = JSON.parse(await readFile("package.json", "utf8")) as { bin: Record<string, string> };
  binPath = pkg.bin["token-refresher"]!;
  pki = await testPki();
  registerSensitive(appSecret, pki.client.keyPem);
  platform = await startIotPlatform({ pki, appId, secret: appSecret, rateLimit: false });
}, 60_000);

afterAll(() => platform.close());

interface Exit {
  code: number;
  stdout: string;
  stderr: string;
}

/** Spawns the bin with the given variables (AWS_ENDPOINT_URL etc. come from the test environment). */
async function bin(args: string[], env: Record<string, string>, stdin?: string): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = execFile(process.execPath, [binPath, ...args], { env: { ...process.env, EVENT_BUS_NAME: "", ...env }, timeout: 20_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
      if (error && code === -1) reject(new Error(`token-refresher ${args.join(" ")} did not exit normally: ${error.message}`));
      else resolve({ code, stdout, stderr });
    });
    child.stdin?.end(stdin ?? "");
  });
}

describe("token-refresher bin (real process)", () => {
  it("is plain JavaScript with a shebang, and prints help", async () => {
    expect(binPath).toBe("dist/token-refresher.mjs");
    expect((await readFile(binPath, "utf8")).startsWith("#!/usr/bin/env node\n")).toBe(true);
    const help = await bin(["--help"], {});
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Usage: token-refresher <command> [options]");
  });

  it("init from standard input, status, refresh --force, and the exit code of a frozen app", async () => {
    const env = {
      CREDENTIAL_NAME: uniqueName("bin"),
      CLIENT_SECRET_ID: uniqueName("bin-client"),
      TOKEN_SECRET_ID: uniqueName("bin-token"),
      STATE_TABLE_NAME: await createStateTable(),
      ENDPOINT_URL: platform.baseUrl,
    };
    const secret = JSON.stringify({ appId, secret: appSecret, caCertificate: pki.caPem, clientCertificate: pki.client.certPem, clientKey: pki.client.keyPem });
    const init = await bin(["init", "--client-secret-file", "-"], env, secret);
    expect([init.code, init.stderr]).toEqual([0, ""]);
    expect(init.stdout).toContain("Refreshed (logged-in)");

    const status = await bin(["status"], { TOKEN_SECRET_ID: env.TOKEN_SECRET_ID });
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/state +valid/);

    const refresh = await bin(["refresh", "--force"], env);
    expect(refresh.code).toBe(0);
    expect(refresh.stdout).toContain("Refreshed (refreshed)");

    platform.setFrozen(true);
    try {
      const frozen = await bin(["refresh", "--force"], env);
      expect(frozen.code).toBe(3);
      expect(frozen.stdout).toContain("AppFrozen");
    } finally {
      platform.setFrozen(false);
    }

    const stored = await readCurrent(env.TOKEN_SECRET_ID);
    registerSensitive(stored.json.accessToken as string, stored.json.refreshToken as string, platform.currentAccessToken(), platform.currentRefreshToken());
    expect(leakedSecrets([init, status, refresh].map((r) => r.stdout + r.stderr).join("\n"))).toEqual([]);
  });

  it("exits 2 with a one-line error and no stack trace on a configuration error", async () => {
    const run = await bin(["refresh"], { CREDENTIAL_NAME: "x", CLIENT_SECRET_ID: "x", TOKEN_SECRET_ID: "y", STATE_TABLE_NAME: "state", ENDPOINT_URL: "http://plain.example" });
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(
      "error: environment variable ENDPOINT_URL must be an https URL\nhint: set it with --endpoint, or pass --function with the deployed refresher function\n",
    );
  });

  it("runs as `npx token-refresher` in the repository", async () => {
    const { stdout } = await exec("npx", ["--no-install", "token-refresher", "--version"], { env: { ...process.env, npm_config_update_notifier: "false" } });
    expect(stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});
