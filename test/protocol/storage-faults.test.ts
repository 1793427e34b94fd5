// After the platform answered, the pair must reach the token secret: Secrets Manager throttling,
// hanging or losing the answer of the write is retried within the invocation, with the same
// idempotency token. Faults come from the test's own AWS front (docs/development.md, "Testing").
import { afterEach, beforeAll, describe, expect } from "vitest";
import type { FaultSpec } from "../support/aws-front.js";
import { IotFixture } from "../support/iot-fixture.js";
import { createTestPki, type TestPki } from "../../bin/local/pki.js";
import { createCredential, expectNoSecretsLeaked, type Credential } from "../oauth2/fixture.js";
import { test } from "./front.js";

let pki: TestPki;
const servers: Credential[] = [];
let fixture: IotFixture | undefined;

beforeAll(async () => {
  pki = await createTestPki();
});
afterEach(async () => {
  await Promise.all(servers.splice(0).map((credential) => credential.server.close()));
  await fixture?.close();
  fixture = undefined;
});

type StorageFault = Pick<FaultSpec, "fault" | "times" | "operation">;

const faults: [string, StorageFault][] = [
  ["the pair's write throttled 3 times", { operation: "PutSecretValue", fault: "fail", times: 3 }],
  ["the pair's write throttled 6 times", { operation: "PutSecretValue", fault: "fail", times: 6 }],
  ["the pair's write hung", { operation: "PutSecretValue", fault: "hang" }],
  ["the pair's write answer lost", { operation: "PutSecretValue", fault: "lose" }],
  ["the promotion's answer lost", { operation: "UpdateSecretVersionStage", fault: "lose" }],
  ["the promotion throttled twice", { operation: "UpdateSecretVersionStage", fault: "fail", times: 2 }],
];

describe("a strict rotating OAuth2 server: the pair is stored and the grant survives", () => {
  test.for(faults)("%s", async ([, spec], { front }) => {
    const c = await createCredential(pki, { runner: { endpoint: front.endpoint } });
    servers.push(c);
    const injected = front.inject({ service: "secretsmanager", resource: c.tokenSecretName, ...spec });

    const result = await c.run();
    expect(result).toMatchObject({ outcome: "Refreshed", reason: "refreshed" });
    expect(injected.applied).toBe(spec.times ?? 1);
    const stored = await c.current();
    expect(stored.versionId).toBe(result.versionId);
    expect(front.versionsCreated(c.tokenSecretName)).toBe(1);

    // The grant survives: the stored refresh token is the one the server honours.
    expect(await c.run({ force: true })).toMatchObject({ outcome: "Refreshed", reason: "refreshed" });
    expect(front.versionsCreated(c.tokenSecretName)).toBe(2);
    expectNoSecretsLeaked(c, result);
  });
});

describe("when the write cannot finish in the invocation", () => {
  test("a pair that could not be stored at all is reported as PairDiscarded, and the next run heals (IoT)", async ({ front }) => {
    fixture = await IotFixture.start();
    const f = fixture;
    await f.seed(60);
    const before = await f.stored();
    front.inject({ service: "secretsmanager", operation: "PutSecretValue", resource: f.config.credential.tokenSecretId, fault: "fail", times: Infinity });

    const result = await f.run({ endpoint: front.endpoint, invocation: { endsAt: Date.now() + 5_000 } });
    expect(result).toMatchObject({ outcome: "PairDiscarded", reason: "PairDiscardedError" });
    expect(f.telemetry.last()).toMatchObject({ PairDiscarded: 1, RefreshFailed: 1 });
    expect(front.calls({ operation: "PutSecretValue", resource: f.config.credential.tokenSecretId }).length).toBeGreaterThan(3);
    expect((await f.stored()).versionId).toBe(before.versionId);

    front.reset();
    // The stored pair was invalidated by the refresh whose pair was lost: the next run logs in.
    expect(await f.run({ endpoint: front.endpoint })).toMatchObject({ outcome: "Refreshed", reason: "logged-in-after-rejection" });
    expect(await f.storedPairIsCurrent()).toBe(true);
  });

  test("a pair stored but not promoted in time is promoted by the next run, without an API call", async ({ front }) => {
    fixture = await IotFixture.start();
    const f = fixture;
    await f.seed(60);
    front.inject({ service: "secretsmanager", operation: "UpdateSecretVersionStage", resource: f.config.credential.tokenSecretId, fault: "fail", times: Infinity });

    const stuck = await f.run({ endpoint: front.endpoint, invocation: { endsAt: Date.now() + 5_000 } });
    expect(stuck).toMatchObject({ outcome: "RefreshFailed", reason: "PromotionPendingError" });
    expect(await f.storedPairIsCurrent()).toBe(false);

    front.reset();
    f.platform.reset();
    const next = await f.run({ endpoint: front.endpoint });
    expect(next).toMatchObject({ outcome: "Refreshed", reason: "completed-pending", apiCalls: 0 });
    expect(f.platform.calls.total).toBe(0);
    expect(await f.storedPairIsCurrent()).toBe(true);
    expect(front.versionsCreated(f.config.credential.tokenSecretId)).toBe(1);
  });

  test("a hung EventBridge call cannot turn a finished run into a timeout", async ({ front }) => {
    fixture = await IotFixture.start({ config: { eventBusName: "default" } });
    const f = fixture;
    front.inject({ service: "events", operation: "PutEvents", fault: "hang", times: Infinity });
    const started = Date.now();
    const endsAt = started + 6_000; // the Lambda context's remaining time
    const result = await f.run({ endpoint: front.endpoint, invocation: { endsAt } });
    expect(result).toMatchObject({ outcome: "Refreshed" });
    // Within the invocation, though the two SDK attempts alone could take twice the request timeout.
    expect(Date.now()).toBeLessThan(endsAt);
    expect(await f.storedPairIsCurrent()).toBe(true);
  });
});

describe("write and read agree (round trip)", () => {
  test("a 65-character tokenType is a clear RefreshFailed, and nothing is written", async ({ front }) => {
    fixture = await IotFixture.start();
    const f = fixture;
    await f.seed(60);
    const before = await f.stored();
    f.platform.setTokenType("b".repeat(65));
    const result = await f.run({ endpoint: front.endpoint });
    expect(result).toMatchObject({ outcome: "RefreshFailed", reason: "ProtocolError" });
    expect(result.message).toContain("tokenType is longer than 64 characters");
    expect(front.calls({ service: "secretsmanager", operation: "PutSecretValue" })).toHaveLength(0);
    expect(await f.stored()).toEqual(before);
  });
});
