// `status` and the workflow decide with one rule set (lambda/protocol/decision.ts): over generated
// credential states — stored pair, lease, a leftover holder's pair, backoff, pause, dialect and a
// host clock hours off — what `status --json` says the next run does is what a run then does.
// Each state is written to moto through the AWS front; the platform is a stand-in dialect, since the
// subject is what the run decides, not how the platform answers.
import { randomUUID } from "node:crypto";
import { DynamoDBClient, PutItemCommand, type AttributeValue } from "@aws-sdk/client-dynamodb";
import { DescribeSecretCommand, PutSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import type { DialectFactory } from "../../lambda/dialects/index.js";
import type { DialectName } from "../../lambda/settings.js";
import { pairVersionId } from "../../lambda/protocol/write-protocol.js";
import { runRefresh } from "../../lambda/refresh/workflow.js";
import { PENDING_STAGE } from "../../lambda/secrets/token-store.js";
import type { RefreshResult } from "../../lambda/telemetry/telemetry.js";
import { CapturedTelemetry, createSecret, secretsClient, testConfig, uniqueName } from "../support/aws.js";
import { installLeakGuard, leakedSecrets, registerSensitive } from "../support/leak-guard.js";
import { createStateTable, lambdaEnvironment, refresherDeps } from "../support/refresher.js";
import { runCli } from "./run-cli.js";

installLeakGuard();

const MINUTE = 60_000;
/**
 * Times are whole minutes plus 30 s from now: every rule's threshold (window 15 min, spacing 16 min,
 * urgency 6 min, backoff slack 1 min, lease end) is a whole number of minutes, so the half minute
 * between status and the run (and AWS's clock's second of resolution) never crosses one.
 */
const minutesAnd30 = (min: number, max: number) => fc.integer({ min, max }).map((minutes) => minutes * MINUTE + 30_000);

const lease = fc.oneof(
  fc.constant({ kind: "none" as const }),
  fc.record({ kind: fc.constant("live" as const), untilIn: minutesAnd30(0, 4) }),
  fc.record({ kind: fc.constant("left" as const), endedAgo: minutesAnd30(0, 30), pending: fc.constantFrom("none", "newer", "older") }),
);

const credentialState = fc.record({
  dialect: fc.constantFrom<DialectName>("iot", "oauth2", "client_credentials"),
  /** Access token expiry from now; undefined: no access token stored. */
  expiresIn: fc.option(minutesAnd30(-10, 40), { nil: undefined }),
  refreshToken: fc.boolean(),
  /** When the stored pair was issued; undefined: no refreshedAt. */
  refreshedAgo: fc.option(minutesAnd30(0, 40), { nil: undefined }),
  lease,
  backoff: fc.option(fc.record({ nextIn: minutesAnd30(-3, 20), clientSecret: fc.constantFrom("unrecorded", "same", "rotated") }), { nil: undefined }),
  paused: fc.boolean(),
  /** How far the host's clock is off AWS's: neither status nor the run may use it. */
  hostSkew: fc.constantFrom(0, -2 * 3600_000, 3 * 3600_000),
});
type GeneratedState = typeof credentialState extends fc.Arbitrary<infer T> ? T : never;

const m = (minutes: number) => minutes * MINUTE + 30_000;
const plain: GeneratedState = { dialect: "iot", expiresIn: m(40), refreshToken: true, refreshedAgo: m(20), lease: { kind: "none" }, backoff: undefined, paused: false, hostSkew: 0 };
/** One state per branch (and the rules status once missed), tried before the generated ones. */
const EXAMPLES: [GeneratedState][] = [
  [plain], // not due
  [{ ...plain, expiresIn: m(5) }], // due
  [{ ...plain, expiresIn: m(10), refreshedAgo: m(5) }], // inside the window but held by the spacing rule
  [{ ...plain, expiresIn: m(10), refreshedAgo: m(5), dialect: "client_credentials", refreshToken: false }], // no refresh token needed
  [{ ...plain, dialect: "oauth2", refreshToken: false }], // no refresh token: due
  [{ ...plain, lease: { kind: "live", untilIn: m(1) }, expiresIn: undefined }], // busy
  [{ ...plain, lease: { kind: "left", endedAgo: m(1), pending: "newer" } }], // a leftover pair to promote
  [{ ...plain, lease: { kind: "left", endedAgo: m(1), pending: "older" } }], // a leftover pair older than AWSCURRENT
  [{ ...plain, expiresIn: undefined, backoff: { nextIn: m(10), clientSecret: "same" } }], // backing off
  [{ ...plain, expiresIn: undefined, backoff: { nextIn: m(10), clientSecret: "rotated" } }], // a new client secret ends the backoff
  [{ ...plain, expiresIn: undefined, paused: true, hostSkew: 3 * 3600_000 }], // paused, on a host 3 h ahead
];

let stateTable: string;
let clientSecretId: string;
let clientSecretVersion: string;

beforeAll(async () => {
  stateTable = await createStateTable();
  clientSecretId = uniqueName("agree-client");
  await createSecret(clientSecretId, { appId: "agree-app", secret: "agree-app-secret", clientId: "agree-client", clientSecret: "agree-client-secret" });
  registerSensitive("agree-app-secret", "agree-client-secret");
  const described = await secretsClient().send(new DescribeSecretCommand({ SecretId: clientSecretId }));
  clientSecretVersion = Object.entries(described.VersionIdsToStages ?? {}).find(([, stages]) => stages.includes("AWSCURRENT"))![0];
});

/** A platform that issues a pair for any call: only whether the run calls it matters here. */
const platform = (dialect: DialectName): DialectFactory => () => {
  const grant = { accessToken: `at-${randomUUID()}`, refreshToken: dialect === "client_credentials" ? undefined : `rt-${randomUUID()}`, tokenType: "bearer", expiresInSeconds: 3600 };
  registerSensitive(grant.accessToken, grant.refreshToken);
  return { refresh: () => Promise.resolve(grant), ...(dialect !== "oauth2" && { bootstrap: () => Promise.resolve(grant) }), close: () => Promise.resolve() };
};

/** Writes the generated state: the token secret (and a leftover holder's pair) and the credential's item. */
async function store(state: GeneratedState, now: number) {
  const credentialName = uniqueName("agree");
  const tokenSecretId = uniqueName("agree-token");
  const iso = (at: number) => new Date(at).toISOString();
  const accessToken = `at-${randomUUID()}`;
  const refreshToken = `rt-${randomUUID()}`;
  registerSensitive(accessToken, refreshToken);
  const refreshedAt = state.refreshedAgo === undefined ? undefined : now - state.refreshedAgo;
  await createSecret(tokenSecretId, {
    ...(state.expiresIn !== undefined && { accessToken, expiresAt: iso(now + state.expiresIn) }),
    ...(state.refreshToken && { refreshToken }),
    ...(refreshedAt !== undefined && { refreshedAt: iso(refreshedAt) }),
  });
  const item: Record<string, AttributeValue> = { credential: { S: credentialName }, failureStreak: { N: "0" }, versionLog: { L: [] } };
  if (state.lease.kind !== "none") {
    const owner = randomUUID();
    item.leaseOwner = { S: owner };
    item.leaseUntil = { N: String(state.lease.kind === "live" ? now + state.lease.untilIn : now - state.lease.endedAgo) };
    if (state.lease.kind === "left" && state.lease.pending !== "none") {
      // Issued a minute after or before the current pair (or, when it has no refreshedAt, half an hour ago).
      const issued = (refreshedAt ?? now - 30 * MINUTE) + (state.lease.pending === "newer" ? MINUTE : -MINUTE);
      const pair = { accessToken: `at-${randomUUID()}`, refreshToken: `rt-${randomUUID()}`, expiresAt: iso(issued + 3600_000), refreshedAt: iso(issued) };
      registerSensitive(pair.accessToken, pair.refreshToken);
      await secretsClient().send(
        new PutSecretValueCommand({ SecretId: tokenSecretId, SecretString: JSON.stringify(pair), VersionStages: [PENDING_STAGE], ClientRequestToken: pairVersionId(owner) }),
      );
    }
  }
  if (state.backoff) {
    item.failureStreak = { N: "2" };
    item.nextAttemptAt = { N: String(now + state.backoff.nextIn) };
    item.lastAttempt = { M: { outcome: { S: "CredentialRejected" }, reason: { S: "PlatformError" }, at: { N: String(now - 10 * MINUTE) } } };
    if (state.backoff.clientSecret !== "unrecorded") item.clientSecretVersion = { S: state.backoff.clientSecret === "same" ? clientSecretVersion : randomUUID() };
  }
  if (state.paused) Object.assign(item, { pausedBy: { S: "arn:aws:iam::123456789012:user/operator" }, pausedAt: { N: String(now - 5 * MINUTE) } });
  await new DynamoDBClient({}).send(new PutItemCommand({ TableName: stateTable, Item: item }));
  return testConfig({ name: credentialName, dialect: state.dialect, clientSecretId, tokenSecretId, stateTableName: stateTable, endpointUrl: "https://platform.invalid" });
}

/** What a run did, in `status`'s words for the next run. */
function ranAs(result: RefreshResult): string {
  if (["not-due", "busy", "paused", "backoff"].includes(result.reason)) return result.reason;
  return result.reason === "completed-pending" ? "complete-pending" : "refresh";
}

interface StatusDocument {
  readonly nextRun: string;
  readonly state: string;
  readonly pendingVersionId?: string;
  readonly backoff?: { readonly clientSecretChecked: boolean };
}

describe("status and the workflow", () => {
  it("agree on due, pending, backoff, busy and paused over generated states, whatever the host's clock says", async () => {
    const seen = new Set<string>();
    await fc.assert(
      fc.asyncProperty(credentialState, async (state) => {
        const config = await store(state, Date.now());
        const hostNow = () => Date.now() + state.hostSkew;
        const status = await runCli(["status", "--json"], { env: { ...lambdaEnvironment(config), CLIENT_SECRET_ID: clientSecretId }, io: { now: hostNow } });
        expect(status.stderr).toBe("");
        expect(leakedSecrets(status.stdout)).toEqual([]);
        const shown = JSON.parse(status.stdout) as StatusDocument;

        const telemetry = new CapturedTelemetry("");
        const result = await runRefresh(
          refresherDeps(config, (events) => telemetry.telemetry(config.runtime.metricsNamespace, events), { localNow: hostNow, createDialect: platform(state.dialect) }),
          config.credential,
          {},
        );
        seen.add(ranAs(result));
        expect(shown.nextRun).toBe(ranAs(result));
        // "pending" only for a leftover holder's pair newer than AWSCURRENT: the check completePending applies.
        // A pair without refreshedAt is the older of two.
        const newerLeftover = state.lease.kind === "left" && (state.lease.pending === "newer" || (state.lease.pending === "older" && state.refreshedAgo === undefined));
        expect(shown.pendingVersionId !== undefined).toBe(newerLeftover);
        if (result.reason === "completed-pending") expect(result.versionId).toBe(shown.pendingVersionId);
        // status read the client secret's version (DescribeSecret), so its backoff is the run's exactly.
        if (shown.backoff) expect(shown.backoff.clientSecretChecked).toBe(true);
      }),
      { numRuns: 60, examples: EXAMPLES },
    );
    // Every branch the two must agree on was exercised.
    expect([...seen].sort()).toEqual(["backoff", "busy", "complete-pending", "not-due", "paused", "refresh"]);
  }, 240_000);
});
