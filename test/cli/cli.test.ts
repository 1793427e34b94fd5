// The token-refresher CLI in-process (main(argv, io)) against moto and the IoT platform simulator.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DialectFactory } from "../../lambda/dialects/index.js";
import type { TokenGrant } from "../../lambda/dialects/types.js";
import { startIotPlatform, type IotPlatform } from "../../bin/local/iot-platform.js";
import { createSecret, putAsCurrent, readCurrent, uniqueName } from "../support/aws.js";
import { testPki } from "../support/iot-fixture.js";
import { installLeakGuard, leakedSecrets, registerSensitive } from "../support/leak-guard.js";
import type { TestPki } from "../../bin/local/pki.js";
import { runCli, type CliRun } from "./run-cli.js";
import { createStateTable } from "../support/refresher.js";
import { writePemFiles, type PemFiles } from "../support/pem-files.js";
import { DynamoDBClient, PutItemCommand } from "@aws-sdk/client-dynamodb";

installLeakGuard();

let pki: TestPki;
let platform: IotPlatform;
let pem: PemFiles;
/** The suite's state table for every credential of this file (items are keyed by credential name). */
let stateTable: string;
const appId = uniqueName("cli-app");
const appSecret = `cli-secret-${uniqueName("s")}`;

beforeAll(async () => {
  pki = await testPki();
  registerSensitive(appSecret, pki.client.keyPem);
  platform = await startIotPlatform({ pki, appId, secret: appSecret, rateLimit: false });
  stateTable = await createStateTable();
  pem = await writePemFiles(pki, "cli");
});

afterAll(async () => {
  await platform.close();
  await pem.remove();
});

/** A credential's variables, with fresh secret names. */
function credential(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    CREDENTIAL_NAME: uniqueName("cred"),
    CLIENT_SECRET_ID: uniqueName("cli-client"),
    TOKEN_SECRET_ID: uniqueName("cli-token"),
    STATE_TABLE_NAME: stateTable,
    ENDPOINT_URL: platform.baseUrl,
    ...overrides,
  };
}

const clientSecretJson = (extra: Record<string, unknown> = {}) => JSON.stringify({ appId, secret: appSecret, ...extra });

/** Registers what the platform issued, then checks the run's output for any secret. */
function noLeaks(run: CliRun): void {
  registerSensitive(platform.currentAccessToken(), platform.currentRefreshToken());
  expect(leakedSecrets(run.stdout + run.stderr)).toEqual([]);
}

/** init from standard input with the PEM files: both secrets created, first pair stored. */
async function initialized(env = credential()): Promise<Record<string, string>> {
  const run = await runCli(["init", "--client-secret-file", "-", ...pem.flags], {
    env,
    stdin: clientSecretJson(),
  });
  expect(run.stderr).toBe("");
  expect(run.code).toBe(0);
  return env;
}

describe("help and usage", () => {
  it("prints help with the commands and the exit codes", async () => {
    const run = await runCli(["--help"]);
    expect(run.code).toBe(0);
    for (const word of ["init", "status", "refresh", "check", "Exit codes", "3  the platform rejected"]) expect(run.stdout).toContain(word);
  });

  it("exits 2 on no command, an unknown command, an unknown option, or an option of another command", async () => {
    expect((await runCli([])).code).toBe(2);
    const unknown = await runCli(["rotate"]);
    expect([unknown.code, unknown.stderr]).toEqual([2, expect.stringContaining('unknown command "rotate"')]);
    expect((await runCli(["status", "--frobnicate"])).code).toBe(2);
    const misplaced = await runCli(["status", "--force"]);
    expect([misplaced.code, misplaced.stderr]).toEqual([2, expect.stringContaining('option --force does not apply to "status"')]);
  });

  it("never takes a secret from the command line", async () => {
    for (const argv of [["init", clientSecretJson()], [clientSecretJson()]]) {
      const run = await runCli(argv, { env: credential() });
      expect(run.code).toBe(2);
      expect(run.stderr).not.toContain(appSecret);
    }
    const run = await runCli(["init", clientSecretJson()], { env: credential() });
    expect(run.stderr).toContain("never taken from the command line");
  });

  it("names the missing variable and its flag, without a stack trace", async () => {
    const run = await runCli(["refresh"], { env: { ...credential(), CLIENT_SECRET_ID: "" } });
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(
      "error: environment variable CLIENT_SECRET_ID is required\nhint: set it with --client-secret-id, or pass --function with the deployed refresher function\n",
    );
  });
});

describe("init", () => {
  it("creates both secrets from standard input and files, logs in once through the workflow, and prints no secret", async () => {
    const env = credential();
    const loginsBefore = platform.calls.login;
    const run = await runCli(
      ["init", "--client-secret-file", "-", ...pem.flags],
      { env, stdin: clientSecretJson() },
    );
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`client secret  ${env.CLIENT_SECRET_ID}: created (appId, caCertificate, clientCertificate, clientKey, secret)`);
    expect(run.stdout).toContain(`token secret   ${env.TOKEN_SECRET_ID}: created (no pair yet)`);
    expect(run.stdout).toMatch(/Refreshed \(logged-in\), access token valid 59m 5\ds/);
    expect(platform.calls.login).toBe(loginsBefore + 1);
    const stored = await readCurrent(env.TOKEN_SECRET_ID!);
    expect(platform.isValidAccessToken(stored.json.accessToken as string)).toBe(true);
    expect((await readCurrent(env.CLIENT_SECRET_ID!)).json).toEqual({
      appId,
      secret: appSecret,
      caCertificate: pki.caPem,
      clientCertificate: pki.client.certPem,
      clientKey: pki.client.keyPem,
    });
    noLeaks(run);
  });

  it("run again, checks both secrets and does not log in again", async () => {
    const env = await initialized();
    const logins = platform.calls.login;
    const run = await runCli(["init"], { env });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("exists, checked");
    expect(run.stdout).toContain("exists (holds a pair)");
    expect(run.stdout).toContain("Skipped (not-due)");
    expect(platform.calls.login).toBe(logins);
  });

  it("refuses to overwrite a different valid client secret without --replace", async () => {
    const env = await initialized();
    const other = JSON.stringify({ appId, secret: "another-secret-value", caCertificate: pki.caPem });
    registerSensitive("another-secret-value");
    const refused = await runCli(["init", "--client-secret-file", "-"], { env, stdin: other });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("pass --replace");
    const replaced = await runCli(["init", "--client-secret-file", "-", "--replace"], { env, stdin: other });
    expect(replaced.stdout).toContain("updated (appId, caCertificate, clientCertificate, clientKey, secret; kept clientCertificate, clientKey from the current value)");
    const stored = (await readCurrent(env.CLIENT_SECRET_ID!)).json;
    expect(stored).toMatchObject({ secret: "another-secret-value", clientKey: pki.client.keyPem });
  });

  it("fills the stack's placeholder client secret without --replace, and says when it is still empty", async () => {
    const env = credential();
    await createSecret(env.CLIENT_SECRET_ID!, { appId: "", secret: "" });
    await createSecret(env.TOKEN_SECRET_ID!, {});
    const empty = await runCli(["init"], { env });
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain(`the client secret ${env.CLIENT_SECRET_ID} is not usable yet (client secret: appId is required`);
    expect(empty.stderr).toContain("hint: fill it with --client-secret-file");
    const filled = await runCli(["init", "--client-secret-file", "-", ...pem.flags], {
      env,
      stdin: clientSecretJson(),
    });
    expect(filled.code).toBe(0);
    expect(filled.stdout).toContain("updated (appId, caCertificate, clientCertificate, clientKey, secret)");
    expect(filled.stdout).toContain("exists (no usable pair)");
    expect(filled.stdout).toContain("Refreshed (logged-in)");
  });

  it("rejects a client secret that misses a field before writing anything", async () => {
    const env = credential();
    const run = await runCli(["init", "--client-secret-file", "-"], { env, stdin: JSON.stringify({ appId }) });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("client secret: secret is required");
    const missing = await runCli(["status"], { env });
    expect(missing.code).toBe(2);
  });

  it("oauth2: stores the refresh token from standard input and redeems it through the workflow", async () => {
    const env = credential({ TOKEN_DIALECT: "oauth2" });
    const redeemed: string[] = [];
    const grant: TokenGrant = { accessToken: "oauth2-access-token-1", refreshToken: "oauth2-refresh-token-2", tokenType: "Bearer", expiresInSeconds: 7200 };
    registerSensitive("oauth2-client-secret", "oauth2-refresh-token-1", grant.accessToken, grant.refreshToken);
    const createDialect: DialectFactory = () => ({
      refresh: (refreshToken) => {
        redeemed.push(refreshToken);
        return Promise.resolve(grant);
      },
      close: () => Promise.resolve(),
    });
    await createSecret(env.CLIENT_SECRET_ID!, { clientId: "client-1", clientSecret: "oauth2-client-secret" });

    const without = await runCli(["init"], { env, io: { createDialect } });
    expect(without.code).toBe(2);
    expect(without.stdout).toContain("RefreshFailed (NeedsInitialRefreshTokenError)");
    expect(without.stderr).toContain("token-refresher init --refresh-token-file -");

    const run = await runCli(["init", "--refresh-token-file", "-"], { env, stdin: "oauth2-refresh-token-1\n", io: { createDialect } });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("refresh token stored");
    expect(run.stdout).toMatch(/Refreshed \(refreshed\), access token valid (2h 0m|1h 59m)/);
    expect(redeemed).toEqual(["oauth2-refresh-token-1"]);
    expect((await readCurrent(env.TOKEN_SECRET_ID!)).json).toMatchObject({ accessToken: grant.accessToken, refreshToken: grant.refreshToken });

    const again = await runCli(["init", "--refresh-token-file", "-"], { env, stdin: "oauth2-refresh-token-3", io: { createDialect } });
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("already holds a refresh token");
    expect(leakedSecrets(without.stdout + without.stderr + run.stdout + run.stderr + again.stderr)).toEqual([]);
  });
});

describe("--function", () => {
  it("takes the refresher's variables from the deployed function's configuration; flags still win", async () => {
    const env = await initialized();
    const asked: string[] = [];
    const lambda = {
      send: (command: { input: { FunctionName?: string } }) => {
        asked.push(command.input.FunctionName ?? "");
        return Promise.resolve({ Environment: { Variables: { ...env, NODE_OPTIONS: "--enable-source-maps", UNRELATED: "x" } } });
      },
    };
    const run = await runCli(["status", "--function", "refresher-fn"], { env: { TOKEN_SECRET_ID: "", CREDENTIAL_NAME: "" }, io: { lambda } });
    expect(asked).toEqual(["refresher-fn"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`credential     ${env.CREDENTIAL_NAME}`);
    const overridden = await runCli(["status", "--function", "refresher-fn", "--token-secret-id", uniqueName("absent")], { io: { lambda } });
    expect(overridden.code).toBe(2);
  });
});

describe("status", () => {
  it("shows expiry, age, version and lease, never a token", async () => {
    const env = await initialized();
    const stored = await readCurrent(env.TOKEN_SECRET_ID!);
    const run = await runCli(["status"], { env });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`version        ${stored.versionId} (AWSCURRENT)`);
    expect(run.stdout).toMatch(/state {10}valid\n/);
    // expiresAt is AWS's time, good to about a second (lambda/clock.ts): just under or just at an hour.
    expect(run.stdout).toMatch(/expires {8}\S+Z \(in (59m \d+s|1h[ 0-9ms]*)\)/);
    expect(run.stdout).toMatch(/last refresh {3}\S+Z \(\d+s ago\)/);
    expect(run.stdout).toContain("access token   present (value not shown)");
    expect(run.stdout).toContain("lease          none");
    for (const value of [stored.json.accessToken, stored.json.refreshToken]) expect(run.stdout).not.toContain(value as string);
    noLeaks(run);

    const json = await runCli(["status", "--json"], { env });
    const parsed = JSON.parse(json.stdout) as Record<string, unknown>;
    expect(parsed).toMatchObject({ state: "valid", versionId: stored.versionId, accessTokenPresent: true, refreshTokenPresent: true });
    expect(Object.keys(parsed)).not.toContain("accessToken");
    for (const value of [stored.json.accessToken, stored.json.refreshToken]) expect(json.stdout).not.toContain(value as string);
  });

  it("names the lease holder while a run holds the lease", async () => {
    const env = await initialized();
    const stored = await readCurrent(env.TOKEN_SECRET_ID!);
    const until = Date.now() + 60_000;
    await new DynamoDBClient({}).send(
      new PutItemCommand({
        TableName: stateTable,
        Item: { credential: { S: env.CREDENTIAL_NAME! }, leaseOwner: { S: "run-1234" }, leaseUntil: { N: String(until) }, leaseBase: { S: stored.versionId } },
      }),
    );
    const run = await runCli(["status"], { env });
    expect(run.stdout).toContain(`lease          held by run run-1234 until ${new Date(until).toISOString()}`);
    const refresh = await runCli(["refresh", "--force"], { env });
    expect(refresh.stdout).toContain("Skipped (busy)");
    expect(refresh.code).toBe(0);
  });

  it("exits 1 when there is no pair", async () => {
    const env = credential();
    await createSecret(env.TOKEN_SECRET_ID!, {});
    const run = await runCli(["status"], { env: { TOKEN_SECRET_ID: env.TOKEN_SECRET_ID } });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain("NO TOKEN PAIR");
  });
});

describe("refresh", () => {
  it("skips when not due and refreshes with --force, through the same workflow", async () => {
    const env = await initialized();
    const skipped = await runCli(["refresh"], { env });
    expect([skipped.code, skipped.stdout]).toEqual([0, expect.stringMatching(new RegExp(`${env.CREDENTIAL_NAME}: Skipped \\(not-due\\), access token valid (59m|1h)`))]);
    const refreshes = platform.calls.refresh;
    const forced = await runCli(["refresh", "--force", "--json"], { env });
    expect(forced.code).toBe(0);
    expect(JSON.parse(forced.stdout)).toMatchObject({ outcome: "Refreshed", reason: "refreshed", apiCalls: 1, exitCode: 0 });
    expect(platform.calls.refresh).toBe(refreshes + 1);
    expect(await readCurrent(env.TOKEN_SECRET_ID!).then((s) => platform.isValidAccessToken(s.json.accessToken as string))).toBe(true);
    noLeaks(forced);
  });

  it("exits 3 with Huawei's handling when the app is frozen", async () => {
    const env = await initialized();
    platform.setFrozen(true);
    try {
      const run = await runCli(["refresh", "--force"], { env });
      expect(run.code).toBe(3);
      expect(run.stdout).toContain("AppFrozen (PlatformError)");
      expect(run.stdout).toContain("error_code 100247");
      expect(run.stderr).toContain("frozen due to arrears");
      expect(run.stderr).toContain("token-refresher refresh --force");
    } finally {
      platform.setFrozen(false);
    }
  });

  it("exits 3 when the platform rejects appId/secret", async () => {
    const env = await initialized();
    await putAsCurrent(env.CLIENT_SECRET_ID!, { appId, secret: "wrong-secret-value", caCertificate: pki.caPem, clientCertificate: pki.client.certPem, clientKey: pki.client.keyPem });
    const run = await runCli(["refresh", "--force"], { env });
    expect(run.code).toBe(3);
    expect(run.stdout).toContain("CredentialRejected");
    expect(run.stderr).toContain("--client-secret-file app.json --replace");
  });

  it("exits 4 when the platform cannot be reached", async () => {
    const env = await initialized();
    const closed = await startIotPlatform({ pki, appId, secret: appSecret });
    const url = closed.baseUrl;
    await closed.close();
    const run = await runCli(["refresh", "--force"], { env: { ...env, ENDPOINT_URL: url, RUN_BUDGET_MS: "2000", HTTP_TIMEOUT_MS: "500" } });
    expect(run.code).toBe(4);
    expect(run.stdout).toContain("RefreshFailed");
    expect(run.stderr).toContain("token-refresher check");
  });
});
