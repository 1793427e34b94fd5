// `--function`: the CLI runs a credential exactly as its Lambda does. The function's environment is
// taken from a synthesized template (what the construct really writes), deployed to moto's Lambda
// (CreateFunction with an empty zip: only its configuration matters), and read back by the CLI.
import { randomBytes } from "node:crypto";
import { App, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseCommandLine, withFunctionConfig } from "../../bin/cli/settings.js";
import { createTestPki } from "../../bin/local/pki.js";
import { TokenRefresher } from "../../infra/token-refresher/index.js";
import { loadConfig } from "../../lambda/config/index.js";
import { FUNCTION_VARIABLES } from "../../lambda/config/table.js";
import { createSecret, readCurrent, uniqueName } from "../support/aws.js";
import { registerSensitive } from "../support/leak-guard.js";
import { deployFunction } from "../support/lambda.js";
import { createStateTable } from "../support/refresher.js";
import { SCOPE, startAuthServer, type AuthServer } from "../oauth2/auth-server.js";
import { runCli } from "./run-cli.js";

const REGION = "us-east-1";
const ACCOUNT = "123456789012";

let server: AuthServer;
let functionName: string;
let tokenSecretArn: string;
/** The function's environment as the construct wrote it (template literals only). */
let deployed: Record<string, string>;

/** A client registered for client_secret_basic only: the client secret does not say so, only the construct's prop. */
beforeAll(async () => {
  const pki = await createTestPki();
  const clientId = uniqueName("client");
  const clientSecret = `cs-${randomBytes(24).toString("base64url")}`;
  registerSensitive(clientSecret);
  server = await startAuthServer({ pki, clientId, clientSecret, clientAuth: "client_secret_basic" });
  const refreshToken = await server.seedRefreshToken();
  registerSensitive(refreshToken);
  const clientSecretArn = await createSecret(uniqueName("fn-client"), { clientId, clientSecret, caCertificate: pki.caPem });
  tokenSecretArn = await createSecret(uniqueName("fn-token"), { refreshToken });
  const tableName = await createStateTable();

  const stack = new Stack(new App(), "FunctionParity", { env: { account: ACCOUNT, region: REGION } });
  new TokenRefresher(stack, "Erp", {
    credentialName: uniqueName("erp"),
    dialect: "oauth2",
    endpointUrl: server.baseUrl,
    oauth2ClientAuth: "client_secret_basic",
    oauth2Scope: SCOPE,
    clientSecret: secretsmanager.Secret.fromSecretCompleteArn(stack, "Client", clientSecretArn),
    tokenSecret: secretsmanager.Secret.fromSecretCompleteArn(stack, "Token", tokenSecretArn),
    stateTable: dynamodb.Table.fromTableName(stack, "State", tableName),
  });
  const [fn] = Object.values(Template.fromStack(stack).findResources("AWS::Lambda::Function")) as { Properties: { Environment: { Variables: Record<string, unknown> } } }[];
  // Every value is known at synth here (the partition is the only pseudo parameter), so the comparison is of real values.
  deployed = Object.fromEntries(Object.entries(fn!.Properties.Environment.Variables).map(([name, value]) => [name, literal(value)]));

  functionName = await deployFunction(deployed, uniqueName("refresher"));
}, 60_000);

afterAll(() => server?.close());

/** The shell of an operator who last worked on another credential: every setting variable set, to other values. */
function otherShell(): Record<string, string> {
  return Object.fromEntries(FUNCTION_VARIABLES.map((variable) => [variable, `from-the-shell-${variable.toLowerCase()}`]));
}

describe("--function", () => {
  it("gives the CLI run every variable the construct put in the function's environment, whatever the shell holds", async () => {
    const io = { env: { ...process.env, ...otherShell() } };
    const args = await withFunctionConfig(parseCommandLine(["refresh", "--function", functionName], io.env), {
      ...io,
      stdout: () => undefined,
      stderr: () => undefined,
      readStdin: () => Promise.resolve(""),
      cwd: process.cwd(),
    });
    const setting = new Set(FUNCTION_VARIABLES);
    const carried = Object.keys(deployed).filter((variable) => setting.has(variable));
    expect(carried.length).toBeGreaterThan(10);
    for (const variable of carried) expect(args.env[variable], variable).toBe(deployed[variable]);
    // A setting the function does not carry is not taken from the shell either: it takes its default, as in Lambda.
    for (const variable of FUNCTION_VARIABLES.filter((name) => !(name in deployed))) expect(args.env[variable], variable).toBeUndefined();
    expect(loadConfig(args.env)).toEqual(loadConfig(deployed));
    // Only infrastructure variables the table does not know are left out (NODE_OPTIONS).
    expect(Object.keys(deployed).filter((variable) => !setting.has(variable))).toEqual(["NODE_OPTIONS"]);
  });

  it("refresh --function and init --function --replace authenticate as the Lambda does (client_secret_basic, scope): Refreshed, grant intact", async () => {
    const env = otherShell();
    const refreshed = await runCli(["refresh", "--function", functionName, "--force", "--json"], { env });
    expect(JSON.parse(refreshed.stdout)).toMatchObject({ outcome: "Refreshed", reason: "refreshed" });
    expect(server.grants.at(-1)).toMatchObject({ grantType: "refresh_token", authorizationScheme: "basic", clientSecretInBody: false, scope: SCOPE });

    // The runbook's recovery: a person authorized again; the new refresh token replaces the stored one.
    const replacement = await server.seedRefreshToken();
    registerSensitive(replacement);
    const init = await runCli(["init", "--function", functionName, "--replace", "--refresh-token-file", "-", "--json"], { env, stdin: replacement });
    expect(init.code).toBe(0);
    expect(JSON.parse(init.stdout)).toMatchObject({ outcome: "Refreshed" });
    expect(server.grants.at(-1)).toMatchObject({ grantType: "refresh_token", authorizationScheme: "basic", clientSecretInBody: false, scope: SCOPE });

    // The grant is intact: the stored pair works, and the next refresh rotates it again.
    const stored = await readCurrent(tokenSecretArn);
    registerSensitive(String(stored.json.accessToken), String(stored.json.refreshToken));
    expect((await server.userinfo(String(stored.json.accessToken))).status).toBe(200);
    const again = await runCli(["refresh", "--function", functionName, "--force", "--json"], { env });
    expect(JSON.parse(again.stdout)).toMatchObject({ outcome: "Refreshed", reason: "refreshed" });
    expect(server.grantErrors).toEqual([]);
  });
});

/** A template value as CloudFormation resolves it in the partition `aws`; anything else fails the test. */
function literal(value: unknown): string {
  if (typeof value === "string") return value;
  const join = (value as { "Fn::Join"?: [string, unknown[]] })["Fn::Join"];
  if (join) return join[1].map(literal).join(join[0]);
  if ((value as { Ref?: string }).Ref === "AWS::Partition") return "aws";
  throw new Error(`not known at synth: ${JSON.stringify(value)}`);
}
