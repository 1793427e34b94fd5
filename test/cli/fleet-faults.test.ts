// `fleet add` and `fleet remove` with each of their AWS steps failing in turn (injected by the test's
// own AWS front): add undoes what it created and says so, leaving nothing in moto; an answer lost
// after AWS applied a step is recognized (a retry finds its own write) or undone; an undo that fails
// says what is left, and `fleet remove --force` removes it; a remove that stops is completed by
// running it again.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect } from "vitest";
import { EXIT_FOR_KIND } from "../../bin/cli/errors.js";
import type { AwsFront, FaultSpec } from "../support/aws-front.js";
import { uniqueName, versionCount } from "../support/aws.js";
import { NOTHING_LEFT, asCaller, createFleet, leftOf, tableItem, type Fleet } from "../support/fleet.js";
import { installLeakGuard, leakedSecrets, registerSensitive } from "../support/leak-guard.js";
import { test } from "../protocol/front.js";
import { runCli, type CliRun } from "./run-cli.js";

installLeakGuard();

let fleet: Fleet;
let files: string;
const appSecret = `fleet-secret-${uniqueName("s")}`;
const refreshToken = `rt-${uniqueName("r")}`;
const refused = { status: 400, type: "AccessDeniedException", message: "not authorized (injected by the AWS front)" };

beforeAll(async () => {
  registerSensitive(appSecret, refreshToken);
  fleet = await createFleet();
  files = await mkdtemp(join(tmpdir(), "token-refresher-fleet-faults-"));
  await writeFile(join(files, "iot.json"), JSON.stringify({ appId: "plant-app", secret: appSecret }));
  await writeFile(join(files, "oauth.json"), JSON.stringify({ clientId: "erp-client", clientSecret: appSecret }));
  await writeFile(join(files, "refresh-token"), refreshToken);
});

afterAll(() => rm(files, { recursive: true, force: true }));

function fleetCli(front: AwsFront, argv: readonly string[]): Promise<CliRun> {
  return asCaller(fleet.operator, () => runCli(["fleet", ...argv], { env: { ...fleet.env, AWS_ENDPOINT_URL: front.endpoint } }));
}

const addArgs = (name: string, dialect: "iot" | "oauth2") =>
  dialect === "iot"
    ? ["add", "--credential", name, "--endpoint", "https://iot.example.com", "--client-secret-file", join(files, "iot.json"), "--json"]
    : ["add", "--credential", name, "--dialect", "oauth2", "--endpoint", "https://auth.example.com", "--client-secret-file", join(files, "oauth.json"), "--refresh-token-file", join(files, "refresh-token"), "--json"];

interface FailedAdd {
  readonly error: { readonly kind: string; readonly message: string; readonly hint: string | null; readonly step: string; readonly undone: string[]; readonly left: string[] };
  readonly exitCode: number;
}

function failure(run: CliRun): FailedAdd {
  expect(leakedSecrets(run.stdout + run.stderr)).toEqual([]);
  return JSON.parse(run.stdout) as FailedAdd;
}

/** The step, the dialect that has it, the call refused, and the failure's kind as reported (the write protocol reports its own writes' as "failed"). */
type Step = [step: string, dialect: "iot" | "oauth2", fault: (fleet: Fleet) => Omit<FaultSpec, "fault">, kind?: "failed"];
const ADD_STEPS: Step[] = [
  ["create the client secret", "iot", () => ({ service: "secretsmanager", operation: "CreateSecret", resource: "/client" })],
  ["attach the client secret's resource policy", "iot", () => ({ service: "secretsmanager", operation: "PutResourcePolicy", resource: "/client" })],
  ["create the token secret", "iot", () => ({ service: "secretsmanager", operation: "CreateSecret", resource: "/token" })],
  ["attach the token secret's resource policy", "iot", () => ({ service: "secretsmanager", operation: "PutResourcePolicy", resource: "/token" })],
  ["register the credential", "iot", (f) => ({ service: "dynamodb", operation: "PutItem", resource: f.registryTableName })],
  ["store the refresh token", "oauth2", (f) => ({ service: "dynamodb", operation: "UpdateItem", resource: f.stateTableName })],
  ["store the refresh token", "oauth2", () => ({ service: "secretsmanager", operation: "PutSecretValue", resource: "/token" }), "failed"],
  ["store the refresh token", "oauth2", () => ({ service: "secretsmanager", operation: "UpdateSecretVersionStage", resource: "/token" }), "failed"],
  // The lease's release, after the refresh token is stored and current.
  ["store the refresh token", "oauth2", (f) => ({ service: "dynamodb", operation: "UpdateItem", resource: f.stateTableName, nth: 2 })],
  ["register the credential", "oauth2", (f) => ({ service: "dynamodb", operation: "PutItem", resource: f.registryTableName })],
];

describe("fleet add, with each AWS step failing in turn", () => {
  test.for(ADD_STEPS)("%s (%s) refused: undone, nothing is left", async ([step, dialect, fault, kind = "aws-access"], { front }) => {
    const name = uniqueName("undo");
    const spec = fault(fleet);
    const injected = front.inject({ ...spec, fault: "fail", error: refused, times: Infinity });
    const run = await fleetCli(front, addArgs(name, dialect));
    expect(injected.applied).toBeGreaterThan(0);
    const { error, exitCode } = failure(run);
    const exit = EXIT_FOR_KIND[kind as keyof typeof EXIT_FOR_KIND];
    expect([run.code, exitCode, error.kind, error.step]).toEqual([exit, exit, kind, step]);
    expect(error.message).toMatch(new RegExp(`^fleet add stopped at step \\d of \\d \\(${step.replace(/[()'.]/g, "\\$&")}\\): .*AccessDeniedException.*Nothing is left\\.$`));
    expect(error.left).toEqual([]);
    // The secrets this add created were deleted without recovery: their names are free for the next try.
    expect(await leftOf(fleet, name)).toEqual(NOTHING_LEFT);
    // Every delete went through the front: what the report says was undone is what AWS was asked to undo.
    const deletes = front.calls({ operation: "DeleteSecret", outcome: "ok" }).length;
    expect(error.undone.filter((line) => line.includes("deleted without recovery"))).toHaveLength(deletes);
  });

  test("the client secret's creation answered, but the answer lost: the retry finds its own secret and add completes", async ({ front }) => {
    const name = uniqueName("lost-create");
    const injected = front.inject({ service: "secretsmanager", operation: "CreateSecret", resource: "/client", fault: "lose" });
    const run = await fleetCli(front, addArgs(name, "iot"));
    expect(injected.applied).toBe(1);
    expect(run.code).toBe(0);
    expect(await versionCount(fleet.secretName(name, "client"))).toBe(1);
    expect(await leftOf(fleet, name)).toEqual({ client: "exists", token: "exists", registry: true, state: false });
  });

  test("the registry item written but every answer lost: undone all the same", async ({ front }) => {
    const name = uniqueName("lost-put");
    const injected = front.inject({ service: "dynamodb", operation: "PutItem", resource: fleet.registryTableName, fault: "lose", times: Infinity });
    const run = await fleetCli(front, addArgs(name, "iot"));
    expect(injected.applied).toBeGreaterThan(0);
    const { error } = failure(run);
    expect(error.step).toBe("register the credential");
    expect(error.undone).toEqual([
      "registry item deleted",
      `token secret ${fleet.secretName(name, "token")} deleted without recovery`,
      `client secret ${fleet.secretName(name, "client")} deleted without recovery`,
    ]);
    expect(await leftOf(fleet, name)).toEqual(NOTHING_LEFT);
  });

  test("an undo that fails stops the undo, says what is left, and fleet remove --force removes it", async ({ front }) => {
    const name = uniqueName("left");
    front.inject({ service: "dynamodb", operation: "PutItem", resource: fleet.registryTableName, fault: "fail", error: refused, times: Infinity });
    const deleteRefused = front.inject({ service: "secretsmanager", operation: "DeleteSecret", resource: "/token", fault: "fail", error: refused, times: Infinity });
    const run = await fleetCli(front, addArgs(name, "iot"));
    const { error } = failure(run);
    expect(deleteRefused.applied).toBeGreaterThan(0);
    expect(error.undone).toEqual([]);
    expect(error.left).toEqual([
      expect.stringMatching(new RegExp(`^token secret ${fleet.secretName(name, "token")} \\(its undo failed: AWS: AccessDeniedException`)) as string,
      `client secret ${fleet.secretName(name, "client")}`,
    ]);
    expect(error.message).toContain("Left: token secret");
    expect(error.hint).toMatch(new RegExp(`^remove what is left with: token-refresher fleet remove --credential ${name} --force; `));
    expect(await leftOf(fleet, name)).toEqual({ client: "exists", token: "exists", registry: false, state: false });

    front.reset();
    const removed = await fleetCli(front, ["remove", "--credential", name, "--force", "--json"]);
    expect(removed.code).toBe(0);
    expect(await leftOf(fleet, name)).toEqual({ client: "deleting", token: "deleting", registry: false, state: false });
  });
});

describe("fleet remove, stopped by a failing step", () => {
  test("leaves the registry item (removing, out of the due index) naming what is left, and running it again completes it", async ({ front }) => {
    const name = uniqueName("half-removed");
    expect((await fleetCli(front, addArgs(name, "iot"))).code).toBe(0);
    const injected = front.inject({ service: "secretsmanager", operation: "DeleteSecret", resource: "/client", fault: "fail", error: refused, times: Infinity });
    const run = await fleetCli(front, ["remove", "--credential", name, "--json"]);
    injected.remove();
    const { error } = JSON.parse(run.stdout) as { error: { step: string; message: string; hint: string; done: string[] } };
    expect([run.code, error.step]).toEqual([2, "delete the client secret"]);
    expect(error.done).toEqual(["mark the registry item removing", "delete the token secret"]);
    expect(error.hint).toContain(`complete it with: token-refresher fleet remove --credential ${name}`);
    const item = await tableItem(fleet.registryTableName, name);
    expect([item?.status?.S, item?.dueShard]).toEqual(["removing", undefined]);
    expect(await leftOf(fleet, name)).toEqual({ client: "exists", token: "deleting", registry: true, state: false });
    // A removing credential cannot be resumed into the due index.
    const resumed = await fleetCli(front, ["resume", "--credential", name]);
    expect([resumed.code, resumed.stderr]).toEqual([2, expect.stringContaining("is being removed") as string]);

    const again = await fleetCli(front, ["remove", "--credential", name]);
    expect([again.code, again.stderr]).toEqual([0, ""]);
    expect(await leftOf(fleet, name)).toEqual({ client: "deleting", token: "deleting", registry: false, state: false });
  });
});
