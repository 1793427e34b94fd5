// Platforms that quote the request back in their error answer (the IoT simulator's echo switch and
// the oidc-provider echo middleware): nothing secret and no terminal control character may reach the
// handler's log lines, the delivered EventBridge events, or any CLI command's output.
import type { Context } from "aws-lambda";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { Agent, request } from "undici";
import { MAX_ERROR_CODE_CHARS, REDACTED } from "../../lambda/redaction.js";
import type { RefreshResult } from "../../lambda/telemetry/telemetry.js";
import { runCli, type CliRun } from "../cli/run-cli.js";
import { createCredential, type Credential } from "../oauth2/fixture.js";
import { REFRESH_PATH } from "../../bin/local/iot-platform.js";
import { EventSink, uniqueName, type DeliveredEvent } from "../support/aws.js";
import { IotFixture, testPki } from "../support/iot-fixture.js";
import { leakedSecrets, recordOutput, registerSensitive } from "../support/leak-guard.js";
import { writePemFiles, type PemFiles } from "../support/pem-files.js";

/** Secrets with characters whose raw, URL-encoded, form-encoded and JSON-escaped forms all differ. */
const IOT_SECRET = `s3cr3t/with+plus &"quote"\\ü-${uniqueName("x")}`;
const OAUTH2_SECRET = `cs/${uniqueName("y")}+"\\ ü=`;
const OAUTH2_REFRESH_TOKEN = `rt/AB+${uniqueName("z")}==/\\"ü`; // one token: no whitespace
registerSensitive(IOT_SECRET, OAUTH2_SECRET, OAUTH2_REFRESH_TOKEN);

/** What a terminal or a log parser must never receive (line breaks and tabs between lines are fine). */
// eslint-disable-next-line no-control-regex -- the test looks for exactly these characters
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/;

type LambdaContext = Pick<Context, "awsRequestId" | "getRemainingTimeInMillis">;

/** The real Lambda entry, loaded fresh with the given environment (it reads its config at module scope). */
async function loadHandler(env: Record<string, string>): Promise<(event: unknown, context?: LambdaContext) => Promise<RefreshResult>> {
  vi.resetModules();
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  const module = await import("../../lambda/handler.js");
  return module.handler;
}

/** Everything the handler writes to stdout during `action`, still fed to the file's leak guard. */
async function capturedStdout(action: () => Promise<void>): Promise<string[]> {
  const lines: string[] = [];
  const write = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
  try {
    await action();
  } finally {
    write.mockRestore();
    lines.forEach(recordOutput);
  }
  return lines;
}

/** Waits for `count` events on the sink's queue. */
async function delivered(sink: EventSink, count: number): Promise<DeliveredEvent[]> {
  const events: DeliveredEvent[] = [];
  await vi.waitFor(
    async () => {
      events.push(...(await sink.drain()));
      expect(events).toHaveLength(count);
    },
    { timeout: 10_000, interval: 200 },
  );
  return events;
}

/** A C0 control character as JSON.stringify escapes it (an odd number of backslashes before it). */
const JSON_ESCAPED_CONTROL = /(?:^|[^\\])(?:\\\\)*\\(?:u00[01][0-9a-f]|[bfnrt])/i;

/** The checks every text below must pass: no secret in any form, no control character, raw or JSON-escaped. */
function expectClean(text: string): void {
  expect(leakedSecrets(text), "secrets in the output").toEqual([]);
  expect(text, "control characters in the output").not.toMatch(CONTROL);
  expect(text, "JSON-escaped control characters in the output").not.toMatch(JSON_ESCAPED_CONTROL);
}

let iot: IotFixture;
let oauth2: Credential;
let sink: EventSink;
let pem: PemFiles;

beforeAll(async () => {
  const pki = await testPki();
  iot = await IotFixture.start({
    clientSecret: { secret: IOT_SECRET },
    platform: { secret: IOT_SECRET, tokenAlphabet: "base64", echoRequests: true },
  });
  sink = await EventSink.create();
  oauth2 = await createCredential(pki, {
    clientSecretFields: { clientSecret: OAUTH2_SECRET },
    tokenSecret: () => ({ refreshToken: OAUTH2_REFRESH_TOKEN }),
    eventBusName: sink.busName,
  });
  oauth2.server.echoRequests(true);
  pem = await writePemFiles(pki, "echo");
});

afterAll(async () => {
  await iot.close();
  await oauth2.server.close();
  await pem.remove();
});

afterEach(() => {
  vi.unstubAllEnvs();
});

describe("the echo switches (so the tests below are not vacuous)", () => {
  it("the IoT simulator quotes the request body raw, form-encoded and URL-encoded among control sequences, with an odd error_code", async () => {
    const pki = await testPki();
    const agent = new Agent({ connect: { ca: pki.caPem, cert: pki.client.certPem, key: pki.client.keyPem } });
    const refreshToken = `rt/${uniqueName("t")}+==`;
    registerSensitive(refreshToken);
    try {
      const answer = await request(`${iot.platform.baseUrl}${REFRESH_PATH}`, {
        method: "POST",
        dispatcher: agent,
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ appId: "app-12345678", secret: IOT_SECRET, refreshToken }),
      });
      const json = (await answer.body.json()) as { error_code: string; error_desc: string };
      expect(answer.statusCode).toBe(400);
      expect(json.error_code.length).toBeGreaterThan(MAX_ERROR_CODE_CHARS);
      expect(json.error_code).toMatch(CONTROL);
      for (const form of [JSON.stringify(IOT_SECRET), new URLSearchParams({ secret: IOT_SECRET }).toString(), `secret=${encodeURIComponent(IOT_SECRET)}`, encodeURIComponent(refreshToken)]) {
        expect(json.error_desc).toContain(form);
      }
      expect(json.error_desc).toContain("\u001b[");
      expect(json.error_desc).toContain("\u202e");
    } finally {
      await agent.close();
    }
  });

  it("the oidc-provider middleware quotes the form-encoded request body", async () => {
    const answer = await oauth2.server.refreshDirectly(OAUTH2_REFRESH_TOKEN);
    expect(answer.status).toBe(400);
    expect(answer.json.error).toBe("invalid_request");
    expect(answer.json.error_description).toContain(`refresh_token=${new URLSearchParams({ t: OAUTH2_REFRESH_TOKEN }).toString().slice(2)}&`);
    expect(answer.json.error_description).toContain(`client_secret=${new URLSearchParams({ t: oauth2.clientSecret }).toString().slice(2)}`);
    expect(answer.json.error_description).toMatch(CONTROL);
  });
});

describe("IoT: a gateway that echoes the request", () => {
  it("the handler's log lines, results and delivered events carry neither the request's secrets nor control characters", async () => {
    const env = {
      CREDENTIAL_NAME: uniqueName("echo"),
      CLIENT_SECRET_ID: iot.config.credential.clientSecretId,
      TOKEN_SECRET_ID: iot.config.credential.tokenSecretId,
      STATE_TABLE_NAME: iot.config.runtime.stateTableName,
      ENDPOINT_URL: iot.platform.baseUrl,
      EVENT_BUS_NAME: sink.busName,
    };
    const results: RefreshResult[] = [];
    const stdout = await capturedStdout(async () => {
      const handler = await loadHandler(env);
      const context = (awsRequestId: string): LambdaContext => ({ awsRequestId, getRemainingTimeInMillis: () => 60_000 });
      // No pair yet: login, whose form body the gateway quotes back (appId, secret).
      results.push(await handler({}, context("echo-login")));
      // A stored pair: refreshToken, whose JSON body carries the refresh token as well.
      await iot.seed(60);
      results.push(await handler({ force: true }, context("echo-refresh")));
    });
    expect(iot.platform.calls.login).toBeGreaterThanOrEqual(1);
    expect(iot.platform.calls.refresh).toBeGreaterThanOrEqual(1);
    const events = await delivered(sink, 2);
    expectClean(stdout.join("") + JSON.stringify(results) + JSON.stringify(events));

    for (const result of results) {
      expect(result).toMatchObject({ outcome: "RefreshFailed", httpStatus: 400, errorCode: undefined });
      expect(result.message).toContain(REDACTED);
      expect(result.message!.length).toBeLessThan(400);
    }
    const emf = stdout.filter((line) => line.includes('"_aws"')).map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(emf).toHaveLength(2);
    for (const line of emf) {
      expect(line).toMatchObject({ RefreshFailed: 1, httpStatus: 400 });
      expect(line.errorCode).toBeUndefined();
      expectClean(line.message as string);
    }
    for (const event of events) {
      expect(event).toMatchObject({ "detail-type": "Token Refresh Failed", detail: { outcome: "RefreshFailed", httpStatus: 400, errorCode: null } });
      expect(event.detail.message).toContain(REDACTED);
      expectClean(event.detail.message as string);
    }
  });
});

describe("OAuth2: a server that quotes the form-encoded request body", () => {
  it("the run's log line, result and delivered event carry neither the refresh token nor the client secret", async () => {
    const result = await oauth2.run();
    const [event] = await delivered(sink, 1);
    expectClean(oauth2.telemetry.raw.join("") + JSON.stringify(result) + JSON.stringify(event));
    expect(result).toMatchObject({ outcome: "RefreshFailed", httpStatus: 400, errorCode: "invalid_request" });
    expect(result.message).toContain(`refresh_token=${REDACTED}`);
    expect(result.message).toContain(`client_secret=${REDACTED}`);
    expect(event).toMatchObject({ "detail-type": "Token Refresh Failed", detail: { errorCode: "invalid_request" } });
  });
});

describe("CLI: every command against echoing platforms", () => {
  const iotEnv = (overrides: Record<string, string> = {}) => ({
    CREDENTIAL_NAME: uniqueName("echo-cli"),
    CLIENT_SECRET_ID: iot.config.credential.clientSecretId,
    TOKEN_SECRET_ID: iot.config.credential.tokenSecretId,
    STATE_TABLE_NAME: iot.config.runtime.stateTableName,
    ENDPOINT_URL: iot.platform.baseUrl,
    ...overrides,
  });
  const oauth2Env = () => ({
    CREDENTIAL_NAME: uniqueName("echo-cli"),
    TOKEN_DIALECT: "oauth2",
    CLIENT_SECRET_ID: oauth2.clientSecretName,
    TOKEN_SECRET_ID: oauth2.tokenSecretName,
    STATE_TABLE_NAME: oauth2.config.runtime.stateTableName,
    ENDPOINT_URL: oauth2.server.baseUrl,
  });
  /** A command that reached the echo: its text says so, redacted. */
  const expectRedactedEcho = (run: CliRun) => expect(run.stdout + run.stderr).toContain(REDACTED);

  it("init (IoT login) with a new client secret from standard input", async () => {
    const env = iotEnv({ CLIENT_SECRET_ID: uniqueName("echo-client"), TOKEN_SECRET_ID: uniqueName("echo-token") });
    const run = await runCli(["init", "--client-secret-file", "-", ...pem.flags], {
      env,
      stdin: JSON.stringify({ appId: uniqueName("echo-app"), secret: IOT_SECRET }),
    });
    expectClean(run.stdout + run.stderr);
    expect(run.code).toBe(1);
    expectRedactedEcho(run);
  });

  it.each([[["refresh", "--force"]], [["refresh", "--force", "--json"]], [["refresh", "--force", "--verbose"]], [["init"]]])(
    "%j (IoT refreshToken) with a stored pair",
    async (argv) => {
      await iot.seed(60);
      const run = await runCli(argv, { env: iotEnv() });
      expectClean(run.stdout + run.stderr);
      expect(run.code).toBe(1);
      expectRedactedEcho(run);
    },
  );

  it.each([[["status"]], [["status", "--json"]], [["check"]], [["check", "--json"]]])("%j", async (argv) => {
    const run = await runCli(argv, { env: iotEnv() });
    expectClean(run.stdout + run.stderr);
    expect(run.code).toBeLessThanOrEqual(1);
  });

  it.each([[["refresh", "--force"]], [["refresh", "--force", "--json", "--verbose"]], [["init"]], [["status"]], [["check"]]])(
    "%j (OAuth2)",
    async (argv) => {
      const run = await runCli(argv, { env: oauth2Env() });
      expectClean(run.stdout + run.stderr);
      if (argv[0] === "refresh" || argv[0] === "init") {
        expect(run.code).toBe(1);
        expectRedactedEcho(run);
      }
    },
  );

  it("init --refresh-token-file - (OAuth2) stores the token, and the echo of its first redemption is redacted", async () => {
    const run = await runCli(["init", "--refresh-token-file", "-", "--replace"], { env: oauth2Env(), stdin: `${OAUTH2_REFRESH_TOKEN}\n` });
    expectClean(run.stdout + run.stderr);
    expect(run.code).toBe(1);
    expectRedactedEcho(run);
  });
});
