import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { Context } from "aws-lambda";
import type { RefreshResult } from "../../lambda/telemetry/telemetry.js";
import { EventSink } from "../support/aws.js";
import { IotFixture } from "../support/iot-fixture.js";
import { recordOutput } from "../support/leak-guard.js";

/** The real Lambda entry, loaded fresh with the given environment (it reads its config at module scope). */
async function loadHandler(env: Record<string, string>): Promise<(event: unknown, context?: LambdaContext) => Promise<RefreshResult>> {
  vi.resetModules();
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  const module = await import("../../lambda/handler.js");
  return module.handler;
}

type LambdaContext = Pick<Context, "awsRequestId" | "getRemainingTimeInMillis">;
const lambdaContext = (awsRequestId: string): LambdaContext => ({ awsRequestId, getRemainingTimeInMillis: () => 60_000 });

let fixture: IotFixture;
let sink: EventSink;
let env: Record<string, string>;

beforeAll(async () => {
  fixture = await IotFixture.start();
  sink = await EventSink.create();
  env = {
    CREDENTIAL_NAME: "plant-a",
    CLIENT_SECRET_ID: fixture.config.credential.clientSecretId,
    TOKEN_SECRET_ID: fixture.config.credential.tokenSecretId,
    STATE_TABLE_NAME: fixture.config.runtime.stateTableName,
    ENDPOINT_URL: fixture.platform.baseUrl,
    EVENT_BUS_NAME: sink.busName,
    METRICS_NAMESPACE: "TokenRefresherTest",
  };
});
afterAll(() => fixture.close());
afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

describe("lambda/handler.ts (the deployed entry)", () => {
  it("refreshes with module-scope clients, writes EMF to stdout and publishes Token Refreshed", async () => {
    const stdout: string[] = [];
    const write = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
      stdout.push(String(chunk));
      return true;
    });
    const handler = await loadHandler(env);
    const first = await handler({ "detail-type": "Scheduled Event", source: "aws.events" }, lambdaContext("req-first"));
    const second = await handler({ "detail-type": "Scheduled Event", source: "aws.events" }, lambdaContext("req-second"));
    write.mockRestore();
    stdout.forEach(recordOutput); // still checked by the leak guard

    expect(first).toMatchObject({ credential: "plant-a", outcome: "Refreshed", reason: "logged-in" });
    expect(second).toMatchObject({ outcome: "Skipped", reason: "not-due", apiCalls: 0 });
    const emf = stdout.filter((line) => line.includes('"_aws"')).map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(emf).toHaveLength(2);
    expect(emf[0]).toMatchObject({ Credential: "plant-a", RefreshSucceeded: 1, requestId: "req-first", coldStart: true });
    expect(emf[1]).toMatchObject({ requestId: "req-second", coldStart: false });
    expect(JSON.stringify(emf[0]!._aws)).toContain('"Namespace":"TokenRefresherTest"');
    expect(emf[1]).toMatchObject({ RefreshSkipped: 1 });

    const events = await sink.drain();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      source: "token-refresher",
      "detail-type": "Token Refreshed",
      detail: { credential: "plant-a", versionId: first.versionId, expiresAt: first.expiresAt },
    });
    expect(events[0]!.detail.tokenSecretArn).toMatch(/^arn:aws:secretsmanager:/);
    expect(JSON.stringify(events)).not.toContain((await fixture.stored()).json.accessToken as string);
  });

  it('refreshes a pair that is not due on {"force": true}', async () => {
    const handler = await loadHandler({ ...env, EVENT_BUS_NAME: "" });
    vi.spyOn(process.stdout, "write").mockImplementation(() => true);
    expect(await handler({ force: true })).toMatchObject({ outcome: "Refreshed", reason: "refreshed" });
  });

  it("names the request in the Token Refresh Failed event, so a failure can be matched to its log line", async () => {
    const handler = await loadHandler(env);
    vi.spyOn(process.stdout, "write").mockImplementation(() => true);
    fixture.platform.failNext("frozen");
    expect(await handler({ force: true }, lambdaContext("req-frozen"))).toMatchObject({ outcome: "AppFrozen", requestId: "req-frozen" });
    const events = await sink.drain();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ "detail-type": "Token Refresh Failed", detail: { outcome: "AppFrozen", requestId: "req-frozen" } });
  });

  it("fails its cold start with a message naming a bad setting", async () => {
    await expect(loadHandler({ ...env, ENDPOINT_URL: "http://plain.example.com" })).rejects.toThrow(
      "environment variable ENDPOINT_URL must be an https URL",
    );
  });
});
