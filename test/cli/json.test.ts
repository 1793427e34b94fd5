// --json: stdout is exactly one JSON document for every command, on success and on failure
// ({"error": {"kind", "message", "hint"}}), with nothing printed before it. Against moto and the IoT
// platform simulator, through the CLI's main(argv, io).
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startIotPlatform, type IotPlatform } from "../../bin/local/iot-platform.js";
import type { TestPki } from "../../bin/local/pki.js";
import { createSecret, createSwitches, putAsCurrent, uniqueName } from "../support/aws.js";
import { testPki } from "../support/iot-fixture.js";
import { installLeakGuard, leakedSecrets, registerSensitive } from "../support/leak-guard.js";
import { writePemFiles, type PemFiles } from "../support/pem-files.js";
import { createStateTable } from "../support/refresher.js";
import { runCli, type CliRun, type CliRunOptions } from "./run-cli.js";

installLeakGuard();

let pki: TestPki;
let platform: IotPlatform;
let pem: PemFiles;
let stateTable: string;
const appId = uniqueName("json-app");
const appSecret = `json-secret-${uniqueName("s")}`;

beforeAll(async () => {
  pki = await testPki();
  registerSensitive(appSecret, pki.client.keyPem);
  platform = await startIotPlatform({ pki, appId, secret: appSecret, rateLimit: false });
  stateTable = await createStateTable();
  pem = await writePemFiles(pki, "json");
});

afterAll(async () => {
  await platform.close();
  await pem.remove();
});

/** A credential's variables with fresh names, its schedule rule and alarms as the stack sets them. */
async function credential(): Promise<Record<string, string>> {
  return {
    CREDENTIAL_NAME: uniqueName("json"),
    CLIENT_SECRET_ID: uniqueName("json-client"),
    TOKEN_SECRET_ID: uniqueName("json-token"),
    STATE_TABLE_NAME: stateTable,
    ENDPOINT_URL: platform.baseUrl,
    ...(await createSwitches(1)).env,
  };
}

const initArgs = () => ["init", "--json", "--client-secret-file", "-", ...pem.flags];
const clientSecretJson = JSON.stringify({ appId, secret: appSecret });

/** The run's stdout as its one JSON document; nothing on stderr, no secret anywhere. */
async function json(argv: readonly string[], options: CliRunOptions): Promise<{ run: CliRun; doc: Record<string, unknown> }> {
  const run = await runCli(argv, options);
  registerSensitive(platform.currentAccessToken(), platform.currentRefreshToken());
  expect(leakedSecrets(run.stdout + run.stderr)).toEqual([]);
  expect(run.stderr).toBe("");
  return { run, doc: JSON.parse(run.stdout) as Record<string, unknown> };
}

/** A failure's document: `error` with kind, message and hint (null when there is none), and the exit code. */
async function failure(argv: readonly string[], options: CliRunOptions, kind: string, code: number): Promise<Record<string, unknown>> {
  const { run, doc } = await json(argv, options);
  expect(run.code).toBe(code);
  expect(doc).toMatchObject({ error: { kind, message: expect.any(String) as string }, exitCode: code });
  expect(doc.error).toHaveProperty("hint");
  return doc;
}

describe("--json on success: one document per command", () => {
  it("init, status, refresh, check, pause and resume", async () => {
    const env = await credential();
    const init = await json(initArgs(), { env, stdin: clientSecretJson });
    expect(init.run.code).toBe(0);
    // The secret steps are folded into the document instead of printed before it.
    expect(init.doc).toMatchObject({
      clientSecret: { id: env.CLIENT_SECRET_ID, action: "created", fields: ["appId", "caCertificate", "clientCertificate", "clientKey", "secret"] },
      tokenSecret: { id: env.TOKEN_SECRET_ID, action: "created", usablePair: false },
      outcome: "Refreshed",
      reason: "logged-in",
      exitCode: 0,
    });
    expect(init.doc).not.toHaveProperty("error");

    const status = await json(["status", "--json"], { env });
    expect(status.doc).toMatchObject({ state: "valid", nextRun: "not-due", accessTokenPresent: true });

    const refresh = await json(["refresh", "--json"], { env });
    expect(refresh.doc).toMatchObject({ outcome: "Skipped", reason: "not-due", exitCode: 0 });

    const check = await json(["check", "--json"], { env });
    expect(check.doc).toMatchObject({ reachable: true, exitCode: 0 });

    const pause = await json(["pause", "--json"], { env });
    expect(pause.doc).toMatchObject({ inForce: { alarmActions: "off", pauseRecord: "recorded", scheduleRule: "disabled" }, exitCode: 0 });

    const resume = await json(["resume", "--json"], { env });
    expect(resume.doc).toMatchObject({
      resumed: { inForce: { scheduleRule: "enabled", pauseRecord: "cleared", alarmActions: "on" } },
      outcome: "Skipped",
      reason: "not-due",
      exitCode: 0,
    });
  });
});

describe("--json on failure: one document with error.kind, error.message and error.hint", () => {
  it("a usage error", async () => {
    await failure(["status", "--frobnicate", "--json"], {}, "usage", 2);
    await failure(["refresh", "--json", "a-stray-argument"], {}, "usage", 2);
  });

  it("init: a bad client secret input, and a token secret it may not replace (the step already done is in the document)", async () => {
    const env = await credential();
    await failure(initArgs(), { env, stdin: JSON.stringify({ appId }) }, "secret", 2);
    await createSecret(env.TOKEN_SECRET_ID!, "not json");
    const doc = await failure(initArgs(), { env, stdin: clientSecretJson }, "secret", 2);
    expect(doc).toMatchObject({ clientSecret: { action: "created" }, error: { message: expect.stringContaining(`token secret ${env.TOKEN_SECRET_ID}: SecretString is not valid JSON`) as string } });
    expect((doc.error as { hint: string }).hint).toContain("--replace");
  });

  it("status: no token secret, and no AWS region", async () => {
    const env = await credential();
    await failure(["status", "--json"], { env }, "secret", 2);
    // Neither a variable, a profile nor instance metadata can give the SDK a region.
    const absent = join(import.meta.dirname, "absent-aws-config");
    const noRegion = { AWS_REGION: "", AWS_CONFIG_FILE: absent, AWS_SHARED_CREDENTIALS_FILE: absent, AWS_EC2_METADATA_DISABLED: "true" };
    for (const [name, value] of Object.entries(noRegion)) vi.stubEnv(name, value);
    try {
      const doc = await failure(["status", "--json"], { env: { ...env, AWS_REGION: "" } }, "config", 2);
      expect(doc.error).toMatchObject({ message: "the AWS region is not set", hint: "set AWS_REGION or pass --region" });
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it("refresh: a run the platform rejects, and a missing variable", async () => {
    const env = await credential();
    expect((await json(initArgs(), { env, stdin: clientSecretJson })).run.code).toBe(0);
    await putAsCurrent(env.CLIENT_SECRET_ID!, { appId, secret: "wrong-secret-value", caCertificate: pki.caPem, clientCertificate: pki.client.certPem, clientKey: pki.client.keyPem });
    const rejected = await failure(["refresh", "--force", "--json"], { env }, "rejected", 3);
    expect(rejected).toMatchObject({ outcome: "CredentialRejected", errorKind: "rejected", error: { hint: expect.stringContaining("--replace") as string } });
    await failure(["refresh", "--json"], { env: { ...env, CLIENT_SECRET_ID: "" } }, "config", 2);
  });

  it("check: an endpoint nothing listens on", async () => {
    const env = await credential();
    await createSecret(env.CLIENT_SECRET_ID!, { appId, secret: appSecret, caCertificate: pki.caPem });
    const closed = await startIotPlatform({ pki, appId, secret: appSecret });
    await closed.close();
    const doc = await failure(["check", "--json"], { env: { ...env, ENDPOINT_URL: closed.baseUrl } }, "unreachable", 4);
    expect(doc).toMatchObject({ reachable: false, steps: expect.arrayContaining([expect.objectContaining({ step: "TCP", status: "fail" })]) as unknown[] });
  });

  it("pause and resume: no schedule rule, and a schedule rule that does not exist", async () => {
    const env = await credential();
    await failure(["pause", "--json"], { env: { ...env, SCHEDULE_RULE_NAME: "" } }, "config", 2);
    const doc = await failure(["resume", "--json"], { env: { ...env, SCHEDULE_RULE_NAME: uniqueName("absent-rule") } }, "aws-access", 2);
    expect(doc.error).toMatchObject({ step: "enable the schedule rule", inForce: { scheduleRule: "unchanged", pauseRecord: "unchanged", alarmActions: "unchanged" } });
  });
});
