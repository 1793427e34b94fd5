// `token-refresher fleet add|list|show|pause|resume|remove` in-process against moto (through a test's
// own AWS front, whose call log shows what reached AWS), the IoT platform simulator and a run of the
// registered spec through the runtime's own workflow. The commands run as a session of the fleet's
// operator role, as AWS would require: the secrets' resource policies let only it and the run role in.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DynamoDBClient, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { RestoreSecretCommand } from "@aws-sdk/client-secrets-manager";
import { afterAll, beforeAll, describe, expect } from "vitest";
import { startIotPlatform, type IotPlatform } from "../../bin/local/iot-platform.js";
import { Registry, dueShardOf } from "../../lambda/fleet/registry.js";
import { DUE_SHARDS } from "../../lambda/settings.js";
import { SECRET_WRITES, POLICY_CHANGES } from "../../infra/token-refresher/secret-guard.js";
import { credentialSpec, runtimeSettings } from "../../lambda/config/index.js";
import { runRefresh } from "../../lambda/refresh/workflow.js";
import { CapturedTelemetry, readCurrent, secretsClient, uniqueName } from "../support/aws.js";
import { ADMINISTRATOR_ACCESS, evaluate, roleSession } from "../support/iam-matrix.js";
import { testPki } from "../support/iot-fixture.js";
import { installLeakGuard, leakedSecrets, registerSensitive } from "../support/leak-guard.js";
import { ACCOUNT, DEFAULT_CALLER, NOTHING_LEFT, asCaller, createFleet, createRegistryTable, leftOf, storedSecret, tableItem, type Fleet } from "../support/fleet.js";
import { deployFunction } from "../support/lambda.js";
import { writePemFiles, type PemFiles } from "../support/pem-files.js";
import { refresherDeps } from "../support/refresher.js";
import { test } from "../protocol/front.js";
import { runCli, type CliRun } from "./run-cli.js";
import type { TestPki } from "../../bin/local/pki.js";

installLeakGuard();

let fleet: Fleet;
let pki: TestPki;
let platform: IotPlatform;
let pem: PemFiles;
let files: string;
const appId = uniqueName("fleet-app");
const appSecret = `fleet-secret-${uniqueName("s")}`;
const oauthSecret = `oauth-secret-${uniqueName("s")}`;
const refreshToken = `rt-${uniqueName("r")}${uniqueName("t")}`;

beforeAll(async () => {
  pki = await testPki();
  registerSensitive(appSecret, oauthSecret, refreshToken, pki.client.keyPem);
  platform = await startIotPlatform({ pki, appId, secret: appSecret, rateLimit: false });
  pem = await writePemFiles(pki, "fleet");
  files = await mkdtemp(join(tmpdir(), "token-refresher-fleet-"));
  await writeFile(join(files, "oauth.json"), JSON.stringify({ clientId: "erp-client", clientSecret: oauthSecret }));
  fleet = await createFleet();
});

afterAll(async () => {
  await platform?.close();
  await pem?.remove();
  await rm(files, { recursive: true, force: true });
});

/** The CLI as the fleet's operator, through `endpoint` (a test's front), with the worker function's settings in the environment. */
function fleetCli(endpoint: string, argv: readonly string[], options: { stdin?: string; env?: Record<string, string> } = {}): Promise<CliRun> {
  return asCaller(fleet.operator, () => runCli(["fleet", ...argv], { env: { ...fleet.env, AWS_ENDPOINT_URL: endpoint, ...options.env }, stdin: options.stdin }));
}

/** Parses --json output: exactly one document, whatever happened. */
function document(run: CliRun): Record<string, unknown> {
  expect(run.stdout.trim().startsWith("{")).toBe(true);
  const parsed = JSON.parse(run.stdout) as Record<string, unknown>;
  expect(leakedSecrets(run.stdout + run.stderr)).toEqual([]);
  return parsed;
}

const iotClientSecret = () => JSON.stringify({ appId, secret: appSecret });

async function addIot(endpoint: string, name = uniqueName("plant")): Promise<{ name: string; run: CliRun }> {
  const run = await fleetCli(endpoint, ["add", "--credential", name, "--endpoint", platform.baseUrl, "--refresh-window", "1200", "--client-secret-file", "-", ...pem.flags, "--json"], {
    stdin: iotClientSecret(),
  });
  return { name, run };
}

describe("fleet add, list, show, pause, resume, remove", () => {
  test("an IoT credential makes the round trip, and remove leaves nothing but restorable secrets", async ({ front }) => {
    const { name, run } = await addIot(front.endpoint);
    const added = document(run);
    expect([run.code, added.exitCode, added.credential]).toEqual([0, 0, name]);
    expect(added.spec).toEqual({ name, endpointUrl: platform.baseUrl, refreshWindowSeconds: 1200, clientSecretId: fleet.secretName(name, "client"), tokenSecretId: fleet.secretName(name, "token") });

    // The secrets: named, tagged and guarded as docs/fleet.md says; the client secret is the input with the PEM files, the token secret `{}`.
    const client = await storedSecret(fleet.secretName(name, "client"));
    const token = await storedSecret(fleet.secretName(name, "token"));
    for (const [secret, kind] of [[client, "client"], [token, "token"]] as const) {
      expect(secret.kind).toBe("exists");
      if (secret.kind !== "exists") return;
      expect(secret.tags).toEqual({ TokenRefresherFleet: fleet.fleetName, TokenRefresherCredential: name, TokenRefresherSecret: kind });
      const denied = kind === "client" ? ["secretsmanager:GetSecretValue", ...SECRET_WRITES, ...POLICY_CHANGES] : [...SECRET_WRITES, ...POLICY_CHANGES];
      expect(secret.policy?.Statement).toEqual([
        {
          Sid: kind === "client" ? "OnlyRefresherAndOperatorsReadOrWrite" : "OnlyRefresherAndOperatorsWrite",
          Effect: "Deny",
          Principal: { AWS: "*" },
          Action: denied,
          Resource: "*",
          Condition: { ArnNotLike: { "aws:PrincipalArn": [fleet.runRoleArn, fleet.operatorRoleArn] } },
        },
      ]);
    }
    expect((await readCurrent(fleet.secretName(name, "client"))).json).toEqual({ appId, secret: appSecret, caCertificate: pki.caPem, clientCertificate: pki.client.certPem, clientKey: pki.client.keyPem });
    expect((await readCurrent(fleet.secretName(name, "token"))).text).toBe("{}");

    // The registry item: the contract's attributes, active and due at once; no state item (nothing was written through the protocol).
    const item = await tableItem(fleet.registryTableName, name);
    expect(item).toMatchObject({
      credential: { S: name },
      status: { S: "active" },
      dueShard: { S: dueShardOf(name) },
      nextDueAt: { N: "0" },
      createdBy: { S: expect.stringMatching(/^arn:aws:sts::\d{12}:assumed-role\/fleet-operator-[^/]+\/alice$/) as string },
      spec: { M: { name: { S: name }, endpointUrl: { S: platform.baseUrl }, refreshWindowSeconds: { N: "1200" }, clientSecretId: { S: fleet.secretName(name, "client") }, tokenSecretId: { S: fleet.secretName(name, "token") } } },
    });
    expect(Number(item!.createdAt!.N)).toBeGreaterThan(Date.now() - 60_000);
    expect(await tableItem(fleet.stateTableName, name)).toBeUndefined();

    const listedActive = document(await fleetCli(front.endpoint, ["list", "--json"]));
    expect(listedActive.credentials).toContainEqual({ credential: name, status: "active", dialect: "iot", nextDue: "now" });

    const shown = await fleetCli(front.endpoint, ["show", "--credential", name, "--json"]);
    const showDoc = document(shown);
    // No pair yet: the fleet's first run logs in. Exit 1 like `status` for a credential without a valid token.
    expect([shown.code, (showDoc.token as Record<string, unknown>).state, (showDoc.token as Record<string, unknown>).nextRun]).toEqual([1, "empty", "refresh"]);
    expect((showDoc.registry as Record<string, unknown>).status).toBe("active");

    const paused = await fleetCli(front.endpoint, ["pause", "--credential", name, "--json"]);
    expect([paused.code, document(paused).status, document(paused).nextDue]).toEqual([0, "paused", null]);
    const pausedItem = await tableItem(fleet.registryTableName, name);
    expect([pausedItem?.status?.S, pausedItem?.dueShard, pausedItem?.pausedBy?.S]).toEqual(["paused", undefined, (item!.createdBy as { S: string }).S]);
    expect(document(await fleetCli(front.endpoint, ["list", "--json"])).credentials).toContainEqual({ credential: name, status: "paused", dialect: "iot", nextDue: null });

    const resumed = await fleetCli(front.endpoint, ["resume", "--credential", name]);
    expect([resumed.code, resumed.stdout]).toEqual([0, `${fleet.fleetName}/${name}: active (was paused): back in the due index, next due now\n`]);
    const resumedItem = await tableItem(fleet.registryTableName, name);
    expect([resumedItem?.status?.S, resumedItem?.dueShard?.S, resumedItem?.pausedBy]).toEqual(["active", dueShardOf(name), undefined]);

    // No pair stored: remove needs no --force. The secrets go with the default recovery window.
    const removed = await fleetCli(front.endpoint, ["remove", "--credential", name, "--json"]);
    const removedDoc = document(removed);
    expect([removed.code, removedDoc.registryItem, removedDoc.stateItem]).toEqual([0, "deleted", "deleted"]);
    expect(removedDoc.tokenSecret).toMatchObject({ kind: "scheduled", deletionDate: expect.any(String) as string });
    const left = await leftOf(fleet, name);
    expect(left).toEqual({ client: "deleting", token: "deleting", registry: false, state: false });
    const deletion = (await storedSecret(fleet.secretName(name, "token"))) as { deletedDate: Date };
    expect(deletion.deletedDate.getTime()).toBeGreaterThan(Date.now() + 29 * 86_400_000);
    expect(document(await fleetCli(front.endpoint, ["list", "--json"])).credentials).not.toContainEqual(expect.objectContaining({ credential: name }));
  });

  test("a run of the registered spec stores a pair; remove then refuses without --force, and a forced remove stays restorable", async ({ front }) => {
    const { name, run } = await addIot(front.endpoint);
    expect(run.code).toBe(0);
    // What a worker does with the registry item: the spec as stored, through the runtime's own workflow.
    const item = await new Registry(new DynamoDBClient({}), fleet.registryTableName).read(name);
    const credential = credentialSpec(item!.spec);
    const runtime = runtimeSettings({ stateTableName: fleet.stateTableName, httpTimeoutMs: 2_000, runBudgetMs: 8_000, leaseSeconds: 30, eventBusName: "" });
    const telemetry = new CapturedTelemetry("");
    const result = await runRefresh(refresherDeps({ runtime }, (events) => telemetry.telemetry("TokenRefresher", events)), credential);
    registerSensitive(platform.currentAccessToken(), platform.currentRefreshToken());
    expect(result.outcome).toBe("Refreshed");

    const shown = await fleetCli(front.endpoint, ["show", "--credential", name]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain("access token   present (value not shown)");
    expect(leakedSecrets(shown.stdout)).toEqual([]);

    const writesBefore = front.calls().filter((call) => /Delete|PutItem|UpdateItem/.test(call.operation)).length;
    const refused = await fleetCli(front.endpoint, ["remove", "--credential", name, "--json"]);
    const error = document(refused).error as Record<string, string>;
    expect(refused.code).toBe(2);
    expect(error.message).toBe(`the token secret ${fleet.secretName(name, "token")} holds a token pair: removing ${name} takes it from its consumers; nothing was removed`);
    expect(error.hint).toContain("--force");
    expect(front.calls().filter((call) => /Delete|PutItem|UpdateItem/.test(call.operation)).length).toBe(writesBefore);
    expect(await leftOf(fleet, name)).toEqual({ client: "exists", token: "exists", registry: true, state: true });
    expect((await tableItem(fleet.registryTableName, name))?.status?.S).toBe("active");

    const forced = await fleetCli(front.endpoint, ["remove", "--credential", name, "--force"]);
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain(`token secret   ${fleet.secretName(name, "token")}: scheduled for deletion on `);
    expect(forced.stdout).toContain(`aws secretsmanager restore-secret --secret-id ${fleet.secretName(name, "token")}`);
    expect(await leftOf(fleet, name)).toEqual({ client: "deleting", token: "deleting", registry: false, state: false });
    // A mistaken --force is undone by restoring the secret: the pair is still there.
    await secretsClient().send(new RestoreSecretCommand({ SecretId: fleet.secretName(name, "token") }));
    expect(typeof (await readCurrent(fleet.secretName(name, "token"))).json.accessToken).toBe("string");
  });

  test("an OAuth2 credential: the refresh token goes through the write protocol (with its state item), and remove guards it", async ({ front }) => {
    const name = uniqueName("erp");
    const run = await fleetCli(
      front.endpoint,
      ["add", "--credential", name, "--dialect", "oauth2", "--endpoint", "https://auth.example.com/tenant/", "--oauth2-scope", "api.read", "--client-secret-file", join(files, "oauth.json"), "--refresh-token-file", "-"],
      { stdin: `${refreshToken}\n` },
    );
    expect([run.code, run.stderr]).toEqual([0, ""]);
    expect(run.stdout).toContain(`token secret   ${fleet.secretName(name, "token")}: created (refresh token stored)`);
    expect(leakedSecrets(run.stdout)).toEqual([]);
    expect((await readCurrent(fleet.secretName(name, "token"))).json).toEqual({ refreshToken });
    const state = await tableItem(fleet.stateTableName, name);
    expect(state?.versionLog?.L).toHaveLength(1);
    expect(state?.leaseUntil).toBeUndefined();
    const stored = (await tableItem(fleet.registryTableName, name))!.spec!.M!;
    expect(Object.keys(stored).sort()).toEqual(["clientSecretId", "dialect", "endpointUrl", "name", "oauth2Scope", "tokenSecretId"]);
    expect(stored.endpointUrl).toEqual({ S: "https://auth.example.com/tenant" });

    const refused = await fleetCli(front.endpoint, ["remove", "--credential", name]);
    expect([refused.code, refused.stderr]).toEqual([2, expect.stringContaining("holds a refresh token") as string]);
    expect((await fleetCli(front.endpoint, ["remove", "--credential", name, "--force"])).code).toBe(0);
    expect(await leftOf(fleet, name)).toEqual({ client: "deleting", token: "deleting", registry: false, state: false });
  });

  test("the secrets' resource policies, evaluated: the run role and the operators get through, another administrator does not", async ({ front }) => {
    const { name } = await addIot(front.endpoint);
    const resourceTags = (kind: string) => ({ TokenRefresherFleet: fleet.fleetName, TokenRefresherCredential: name, TokenRefresherSecret: kind });
    const principals = {
      run: roleSession(fleet.runRoleArn, [ADMINISTRATOR_ACCESS]),
      operator: roleSession(fleet.operatorRoleArn, [ADMINISTRATOR_ACCESS]),
      otherAdmin: roleSession(`arn:aws:iam::${ACCOUNT}:role/admin`, [ADMINISTRATOR_ACCESS]),
    };
    const decide = async (who: keyof typeof principals, action: string, kind: "client" | "token") => {
      const secret = await storedSecret(fleet.secretName(name, kind));
      if (secret.kind !== "exists") throw new Error(`${kind} secret missing`);
      const decision = await evaluate({ principal: principals[who], action, resource: secret.arn, resourceTags: resourceTags(kind), resourcePolicy: secret.policy });
      return decision.result;
    };
    for (const who of ["run", "operator"] as const) {
      for (const action of ["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue", "secretsmanager:DeleteSecret"]) {
        expect([who, action, await decide(who, action, "client")]).toEqual([who, action, "Allowed"]);
        expect([who, action, await decide(who, action, "token")]).toEqual([who, action, "Allowed"]);
      }
    }
    for (const action of ["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue", "secretsmanager:DeleteSecret", "secretsmanager:PutResourcePolicy"]) {
      expect([action, await decide("otherAdmin", action, "client")]).toEqual([action, "ExplicitlyDenied"]);
    }
    for (const action of ["secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage", "secretsmanager:DeleteResourcePolicy"]) {
      expect([action, await decide("otherAdmin", action, "token")]).toEqual([action, "ExplicitlyDenied"]);
    }
    // Consumers read the token secret through their own policies.
    expect(await decide("otherAdmin", "secretsmanager:GetSecretValue", "token")).toBe("Allowed");
  });

  test("list reads every page of the registry, and leaves the table's other items out", async () => {
    const dynamodb = new DynamoDBClient({});
    const registry = new Registry(dynamodb, await createRegistryTable());
    const names = Array.from({ length: 5 }, () => uniqueName("paged"));
    for (const name of names) {
      const spec = { name, endpointUrl: "https://iot.example.com", clientSecretId: `${name}/client`, tokenSecretId: `${name}/token` };
      expect((await registry.register(spec, { at: 1, principal: "test" })).name).toBe(name);
    }
    await dynamodb.send(new PutItemCommand({ TableName: registry.tableName, Item: { credential: { S: "#budget#1700000000" }, count: { N: "3" } } }));
    const pages: string[][] = [];
    for await (const page of registry.pages(2)) pages.push(page.map((item) => item.credential));
    expect(pages.length).toBeGreaterThanOrEqual(3);
    expect(pages.flat().sort()).toEqual([...names].sort());
    expect(new Set(names.map(dueShardOf)).size).toBeLessThanOrEqual(DUE_SHARDS);
  });
});

describe("fleet add with bad input: a clear error naming the flag or field, and no AWS write", () => {
  const STDIN = ["--client-secret-file", "-"];
  const IOT = (name: string) => ["--credential", name, "--endpoint", "https://iot.example.com"];
  const CASES: [what: string, argv: (name: string) => string[], stdin: string | undefined, message: string | RegExp][] = [
    ["a bad name", () => ["--credential", "bad name!", "--endpoint", "https://iot.example.com", ...STDIN], "{}", 'invalid credential: --credential must be 1-64 letters, digits, "_", "." or "-"'],
    ["an http endpoint", (name) => ["--credential", name, "--endpoint", "http://user:pw@iot.example.com", ...STDIN], "{}", "invalid credential: --endpoint must be an https URL"],
    ["no endpoint", (name) => ["--credential", name, ...STDIN], "{}", "invalid credential: --endpoint is required"],
    ["a refresh window that is no number", (name) => [...IOT(name), "--refresh-window", "soon", ...STDIN], "{}", "invalid credential: --refresh-window must be a whole number"],
    ["an OAuth2 setting on an IoT credential", (name) => [...IOT(name), "--oauth2-scope", "a", ...STDIN], "{}", "invalid credential: --oauth2-scope is only used by the oauth2 and client_credentials dialects (dialect is iot)"],
    ["a malformed client secret", (name) => [...IOT(name), ...STDIN], `{"appId": "x", "secret": "${appSecret}"`, "the client secret input: SecretString is not valid JSON"],
    ["a client secret without its secret field", (name) => [...IOT(name), ...STDIN], JSON.stringify({ appId }), /^client secret: secret /],
    ["no client secret", (name) => IOT(name), undefined, "--client-secret-file is required: the client secret's JSON, from a file or - for standard input"],
    ["OAuth2 without a refresh token", (name) => ["--credential", name, "--dialect", "oauth2", "--endpoint", "https://auth.example.com", "--client-secret-file", join(files, "oauth.json")], undefined, /--refresh-token-file FILE/],
    ["a refresh token for IoT", (name) => [...IOT(name), "--client-secret-file", join(files, "oauth.json"), "--refresh-token-file", join(files, "oauth.json")], undefined, /^--refresh-token-file is for the oauth2 dialect/],
  ];

  test.for(CASES)("%s", async ([, argv, stdin, message], { front }) => {
    const name = uniqueName("bad");
    const run = await fleetCli(front.endpoint, ["add", ...argv(name), "--json"], { stdin });
    const { error, exitCode } = document(run) as { error: { message: string }; exitCode: number };
    expect([run.code, exitCode]).toEqual([2, 2]);
    if (typeof message === "string") expect(error.message).toBe(message);
    else expect(error.message).toMatch(message);
    expect(run.stdout).not.toContain("user:pw");
    // Nothing reached AWS at all: the input is checked before the first call.
    expect(front.calls()).toEqual([]);
    expect(await leftOf(fleet, name)).toEqual(NOTHING_LEFT);
  });

  test("a caller that is not one of the fleet's operators is refused before anything is created", async ({ front }) => {
    const name = uniqueName("intruder");
    const run = await asCaller(DEFAULT_CALLER, () =>
      runCli(["fleet", "add", "--credential", name, "--endpoint", platform.baseUrl, "--client-secret-file", "-", "--json"], { env: { ...fleet.env, AWS_ENDPOINT_URL: front.endpoint }, stdin: iotClientSecret() }),
    );
    const { error } = document(run) as { error: { message: string } };
    expect(run.code).toBe(2);
    expect(error.message).toMatch(/^arn:aws:sts::\d{12}:user\/moto is not among the fleet's operators \(OPERATOR_PRINCIPAL_ARNS\)/);
    expect(front.calls({ service: "secretsmanager" })).toEqual([]);
    expect(await leftOf(fleet, name)).toEqual(NOTHING_LEFT);
  });

  test("a name already in the fleet is refused, and what it has is left alone", async ({ front }) => {
    const { name } = await addIot(front.endpoint);
    const again = await addIot(front.endpoint, name);
    expect([again.run.code, (document(again.run).error as { message: string }).message]).toEqual([2, `credential ${name} is already in fleet ${fleet.fleetName} (active)`]);
    expect(await leftOf(fleet, name)).toEqual({ client: "exists", token: "exists", registry: true, state: false });
    expect((await fleetCli(front.endpoint, ["remove", "--credential", name])).code).toBe(0);
    const readded = await addIot(front.endpoint, name);
    expect((document(readded.run).error as { message: string }).message).toMatch(/^the secret .* is scheduled for deletion on .* \(a removed credential of the same name\)/);
  });
});

describe("fleet commands: usage, settings and --function", () => {
  test("name their flag, refuse options of other commands, and print one JSON document on failure", async ({ front }) => {
    const missing = await fleetCli(front.endpoint, ["show", "--json"]);
    expect([missing.code, (document(missing).error as { message: string }).message]).toEqual([2, "--credential is required: the name of the fleet's credential"]);
    const misplaced = await fleetCli(front.endpoint, ["list", "--credential", "x", "--json"]);
    expect((document(misplaced).error as { message: string }).message).toBe('option --credential does not apply to "fleet list"');
    const secretIds = await fleetCli(front.endpoint, ["add", "--credential", "x", "--token-secret-id", "mine", "--json"]);
    expect((document(secretIds).error as { message: string }).message).toBe('option --token-secret-id does not apply to "fleet add"');
    const unknown = await fleetCli(front.endpoint, ["show", "--credential", uniqueName("nobody"), "--json"]);
    expect((document(unknown).error as { message: string }).message).toMatch(/^no credential nobody-\w+ in fleet /);
    const noFleet = await fleetCli(front.endpoint, ["list", "--json"], { env: { FLEET_NAME: "" } });
    expect(document(noFleet).error).toEqual({
      kind: "config",
      message: "environment variable FLEET_NAME is required",
      hint: "set it with --fleet, or pass --function with the deployed fleet worker function",
    });
    // Only the registry read of `show`: nothing written.
    expect(front.calls().map((call) => call.operation)).toEqual(["GetItem"]);
  });

  test("--function takes the fleet's settings from the worker function; a refresher function is not one", async () => {
    const worker = await deployFunction(fleet.env);
    const { name } = await addIot(process.env.AWS_ENDPOINT_URL!);
    // A shell pointing at another fleet: the function's variables win.
    const run = await asCaller(fleet.operator, () => runCli(["fleet", "list", "--function", worker, "--json"], { env: { FLEET_NAME: "another", REGISTRY_TABLE_NAME: "elsewhere" } }));
    expect(run.code).toBe(0);
    expect(document(run)).toMatchObject({ fleet: fleet.fleetName, credentials: expect.arrayContaining([expect.objectContaining({ credential: name })]) as unknown });
    const refresher = await deployFunction({ TOKEN_SECRET_ID: "a-token-secret" });
    const wrong = await runCli(["fleet", "list", "--function", refresher, "--json"]);
    expect((document(wrong).error as { message: string }).message).toBe(`function ${refresher} has no REGISTRY_TABLE_NAME variable: is it a token-refresher fleet worker function?`);
  });
});
