// The deployable artifact: `cdk synth` through the real CLI on a fresh checkout's configuration (no AWS
// credentials, no account), and the bundled handler run for real.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CreateSecretCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createTestPki } from "../../bin/local/pki.js";
import { startIotPlatform } from "../../bin/local/iot-platform.js";
import { createStateTable } from "../support/refresher.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const CDK_CLI = join(ROOT, "node_modules/aws-cdk/bin/cdk");

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function run(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): Promise<Run> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd ?? ROOT, env: options.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 60_000);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** The environment of a fresh machine: no AWS credentials, account, region or endpoint. */
function noAwsEnv(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^(AWS_|CDK_)/.test(key)));
  return {
    ...env,
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_CONFIG_FILE: join(tmpdir(), "token-refresher-no-aws-config"),
    AWS_SHARED_CREDENTIALS_FILE: join(tmpdir(), "token-refresher-no-aws-credentials"),
    CDK_DISABLE_VERSION_CHECK: "1",
    CDK_DISABLE_CLI_TELEMETRY: "true",
  };
}

type CfnTemplate = { Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }> };

describe("cdk synth with the real CLI", () => {
  let out: string;
  let synth: Run;
  let template: CfnTemplate;

  beforeAll(async () => {
    out = mkdtempSync(join(tmpdir(), "token-refresher-synth-"));
    synth = await run(process.execPath, [CDK_CLI, "synth", "--quiet", "--no-notices", "-o", out], { env: noAwsEnv(), timeoutMs: 90_000 });
    if (synth.code === 0) template = JSON.parse(readFileSync(join(out, "TokenRefresher.template.json"), "utf8")) as CfnTemplate;
  }, 120_000);

  afterAll(() => {
    if (out) rmSync(out, { recursive: true, force: true });
  });

  it("succeeds offline with no AWS credentials, without cdk-nag findings", () => {
    expect(synth.code, `cdk synth failed:\n${synth.stdout}\n${synth.stderr}`).toBe(0);
    // A figure, not a limit (timing targets belong in `npm run bench`; this machine may be busy).
    console.warn(`cdk synth: ${synth.ms} ms`);
    expect(synth.stderr).not.toMatch(/\[(Error|Warning) at/);
    const manifest = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8")) as { artifacts: Record<string, { metadata?: Record<string, { type: string }[]> }> };
    const findings = Object.values(manifest.artifacts).flatMap((a) => Object.values(a.metadata ?? {}).flat().filter((m) => m.type === "aws:cdk:error" || m.type === "aws:cdk:warning"));
    expect(findings).toEqual([]);
  });

  it("synthesizes the example credential, environment-agnostic, with no secret value in the template", () => {
    const types = Object.values(template.Resources).map((r) => r.Type);
    expect(types.filter((t) => t === "AWS::Lambda::Function")).toHaveLength(1);
    expect(types.filter((t) => t === "AWS::CloudWatch::Alarm")).toHaveLength(7);
    // The names pause/resume switch are plain strings in the function's environment, equal to the resources'.
    const resourcesOf = (type: string) => Object.values(template.Resources).filter((r) => r.Type === type);
    const variables = (resourcesOf("AWS::Lambda::Function")[0]!.Properties!.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(variables.SCHEDULE_RULE_NAME).toBe(resourcesOf("AWS::Events::Rule")[0]!.Properties!.Name);
    expect(variables.SCHEDULE_RULE_NAME).toBe("TokenRefresher-example-iot-schedule");
    expect((variables.ALARM_NAMES as string).split(",").sort()).toEqual(resourcesOf("AWS::CloudWatch::Alarm").map((r) => r.Properties!.AlarmName).sort());
    expect(types.filter((t) => t === "AWS::DynamoDB::Table")).toHaveLength(1);
    expect(types.filter((t) => t === "AWS::SecretsManager::ResourcePolicy")).toHaveLength(2);
    const secrets = Object.values(template.Resources).filter((r) => r.Type === "AWS::SecretsManager::Secret");
    expect(secrets.map((s) => s.Properties!.SecretString).sort()).toEqual(["{}", JSON.stringify({ appId: "", secret: "" })].sort());
    const text = JSON.stringify(template);
    expect(text).not.toMatch(/\b\d{12}\b/); // no account baked in
    expect(text).not.toMatch(/BEGIN [A-Z ]*(PRIVATE KEY|CERTIFICATE)/);
  });

  it("bundles the handler as one minified ESM file with a source map and the AWS SDK inside", () => {
    const fn = Object.values(template.Resources).find((r) => r.Type === "AWS::Lambda::Function")!;
    const key = (fn.Properties!.Code as { S3Key: string }).S3Key;
    const dir = join(out, `asset.${key.replace(/\.zip$/, "")}`);
    const bundle = join(dir, "index.mjs");
    expect(existsSync(bundle)).toBe(true);
    expect(existsSync(`${bundle}.map`)).toBe(true);
    const size = statSync(bundle).size;
    expect(size).toBeLessThan(1_500_000);
    const code = readFileSync(bundle, "utf8");
    expect(code.length / code.split("\n").length).toBeGreaterThan(1_000); // minified: long lines
    expect(code).not.toMatch(/from\s*["']@aws-sdk\//); // SDK bundled, not taken from the runtime
    expect(code).toContain("sourceMappingURL=index.mjs.map");
    console.warn(`bundle: ${size} bytes (${dir})`);
  });

  it("has a bundle that runs: a real IoT login against the simulator and moto", async () => {
    const fn = Object.values(template.Resources).find((r) => r.Type === "AWS::Lambda::Function")!;
    const bundle = join(out, `asset.${(fn.Properties!.Code as { S3Key: string }).S3Key.replace(/\.zip$/, "")}`, "index.mjs");
    const env = (fn.Properties!.Environment as { Variables: Record<string, unknown> }).Variables;
    const pki = await createTestPki();
    const iot = await startIotPlatform({ pki, appId: "app-1", secret: "app-secret", rateLimit: false });
    try {
      const secrets = new SecretsManagerClient({});
      const suffix = `${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
      const client = await secrets.send(
        new CreateSecretCommand({
          Name: `infra-bundle-client-${suffix}`,
          SecretString: JSON.stringify({ appId: "app-1", secret: "app-secret", caCertificate: pki.caPem, clientCertificate: pki.client.certPem, clientKey: pki.client.keyPem }),
        }),
      );
      const token = await secrets.send(new CreateSecretCommand({ Name: `infra-bundle-token-${suffix}`, SecretString: "{}" }));
      const stateTable = await createStateTable(`infra-bundle-state-${suffix}`);
      const runnerEnv: NodeJS.ProcessEnv = {
        PATH: process.env.PATH,
        ...Object.fromEntries(Object.entries(env).filter(([, v]) => typeof v === "string")),
        CLIENT_SECRET_ID: client.ARN,
        TOKEN_SECRET_ID: token.ARN,
        STATE_TABLE_NAME: stateTable,
        ENDPOINT_URL: iot.baseUrl,
        EVENT_BUS_NAME: "default",
        AWS_ENDPOINT_URL: inject("frontEndpoint"),
        AWS_REGION: "us-east-1",
        AWS_ACCESS_KEY_ID: "testing",
        AWS_SECRET_ACCESS_KEY: "testing",
      };
      // Invoked as Lambda does: the event and a context whose remaining time counts down from the function's timeout.
      const script = [
        "const m = await import(process.argv[1]);",
        `const deadline = Date.now() + ${(fn.Properties!.Timeout as number) * 1000};`,
        "const context = { awsRequestId: 'synth-test', functionName: 'synth-test', getRemainingTimeInMillis: () => deadline - Date.now() };",
        "const r = await m.handler({}, context);",
        "console.error(JSON.stringify({ outcome: r.outcome, reason: r.reason, apiCalls: r.apiCalls, message: r.message }));",
      ].join(" ");
      const result = await run(process.execPath, ["--input-type=module", "-e", script, bundle], { env: runnerEnv, timeoutMs: 30_000 });
      expect(result.code, result.stderr).toBe(0);
      const report = JSON.parse(result.stderr.trim().split("\n").filter((l) => l.startsWith('{"outcome"')).pop() ?? "{}") as Record<string, unknown>;
      expect(report).toMatchObject({ outcome: "Refreshed", apiCalls: 1 });
      // The one stdout line is the EMF document with the Credential dimension only.
      const emf = JSON.parse(result.stdout.trim().split("\n").pop()!) as { _aws: { CloudWatchMetrics: { Dimensions: string[][] }[] } };
      expect(emf._aws.CloudWatchMetrics[0]!.Dimensions).toEqual([["Credential"]]);
      expect(result.stdout + result.stderr).not.toContain(iot.currentAccessToken()!);
    } finally {
      await iot.close();
    }
  }, 30_000);
});

describe("the app with a bad configuration", () => {
  it("exits 1 listing every bad field, without a stack trace", async () => {
    const dir = mkdtempSync(join(tmpdir(), "token-refresher-badconfig-"));
    try {
      const file = join(dir, "config.json");
      writeFileSync(file, JSON.stringify({ credentials: [{ name: "a", endpointUrl: "http://x" }, { name: "b", endpointUrl: "https://y", scheduleMinutes: 30 }] }));
      const result = await run(join(ROOT, "node_modules/.bin/tsx"), ["infra/app.ts"], {
        env: { ...noAwsEnv(), CDK_CONTEXT_JSON: JSON.stringify({ configFile: file }), CDK_OUTDIR: dir },
        timeoutMs: 30_000,
      });
      expect(result.code).toBe(1);
      expect(result.stderr.trim()).toBe(
        [
          `Invalid token-refresher configuration (config file ${file}):`,
          '  - credentials[0].endpointUrl must be an https URL, got "http://x"',
          "  - credentials[1].refreshWindowMinutes must be longer than the schedule interval (30 minutes), or the token can expire between two runs",
        ].join("\n"),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
