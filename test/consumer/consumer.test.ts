// The package as other projects get it: packed, installed offline outside this repository into a
// service that only reads the token and into a CDK app, type-checked under a strict consumer
// configuration, run, and synthesized (README.md, "Reading the token from a service";
// docs/construct.md, "Using the construct in your own CDK app").
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSecret, uniqueName } from "../support/aws.js";
import { CONSUMER_STACK, createConsumerProjects, type ConsumerProjects } from "./consumer-project.js";

const execFileAsync = promisify(execFile);

/** What a service that installs the package only to read the token may have in its node_modules at most. */
const READER_ONLY_MAX_BYTES = 25_000_000;

interface Resource {
  readonly Type: string;
  readonly Properties: Record<string, unknown>;
}

let consumer: ConsumerProjects;

beforeAll(async () => {
  consumer = await createConsumerProjects();
  const { packed, service, timings } = consumer;
  console.log(
    `package: ${(packed.size / 1024).toFixed(1)} KiB packed, ${(packed.unpackedSize / 1024).toFixed(1)} KiB unpacked, ${packed.files.length} files; ` +
      `reader-only service: node_modules ${(service.nodeModulesBytes / 1e6).toFixed(1)} MB in ${service.packages.length} packages; ` +
      `pack ${(timings.packMs / 1000).toFixed(1)} s, offline installs ${(timings.serviceInstallMs / 1000).toFixed(1)} s (service) and ${(timings.appInstallMs / 1000).toFixed(1)} s (app), ` +
      `consumer tsc ${(timings.typecheckMs / 1000).toFixed(1)} s, consumer synth ${(timings.synthMs / 1000).toFixed(1)} s`,
  );
}, 300_000);

afterAll(() => consumer?.remove());

function template(): Record<string, Resource> {
  const file = join(consumer.cdkOut, `${CONSUMER_STACK}.template.json`);
  return (JSON.parse(readFileSync(file, "utf8")) as { Resources: Record<string, Resource> }).Resources;
}

function resourcesOfType(type: string): [string, Resource][] {
  return Object.entries(template()).filter(([, resource]) => resource.Type === type);
}

describe("the packed package", () => {
  it("holds the build and the README, and no tests or sources", () => {
    const paths = consumer.packed.files.map((file) => file.path);
    expect(paths).toEqual(expect.arrayContaining(["package.json", "README.md", "dist/cdk.mjs", "dist/reader.mjs", "dist/token-refresher.mjs", "dist/handler/index.mjs", "dist/fleet/scheduler/index.mjs", "dist/fleet/worker/index.mjs"]));
    expect(paths.filter((path) => !/^(dist\/|package\.json$|README\.md$)/.test(path))).toEqual([]);
    expect(paths.filter((path) => /(^|\/)(test|\.ci)\//.test(path) || /\.test\./.test(path))).toEqual([]);
    expect(paths.filter((path) => path.startsWith("dist/types/") && !path.endsWith(".d.ts"))).toEqual([]);
  });

  it("has no install script: the installs list none to approve", () => {
    const installed = join(consumer.service.dir, "node_modules", "token-refresher");
    const manifest = JSON.parse(readFileSync(join(installed, "package.json"), "utf8")) as Record<string, unknown>;
    expect(manifest.private).toBeUndefined();
    // prepare counts too: npm 11 lists it as an install script of a package installed from a file or git.
    for (const hook of ["preinstall", "install", "postinstall", "prepare"]) expect(manifest.scripts).not.toHaveProperty(hook);
    expect(consumer.service.unreviewedInstallScripts).toEqual([]);
    expect(consumer.app.unreviewedInstallScripts).not.toContain("token-refresher");
  });

  it("declares only the reader's AWS client as a dependency, and the CDK as optional peers", () => {
    const manifest = JSON.parse(readFileSync(join(consumer.service.dir, "node_modules", "token-refresher", "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
      peerDependencies: Record<string, string>;
      peerDependenciesMeta: Record<string, { optional?: boolean }>;
    };
    expect(Object.keys(manifest.dependencies)).toEqual(["@aws-sdk/client-secrets-manager"]);
    expect(Object.keys(manifest.peerDependencies).sort()).toEqual(["aws-cdk-lib", "constructs"]);
    expect(manifest.peerDependenciesMeta).toEqual({ "aws-cdk-lib": { optional: true }, constructs: { optional: true } });
  });
});

describe("a service that installs the package to read the token", () => {
  it(`gets no CDK, no AWS client but Secrets Manager's and no undici, in at most ${READER_ONLY_MAX_BYTES / 1e6} MB`, () => {
    const { packages, nodeModulesBytes } = consumer.service;
    expect(packages).toContain("token-refresher");
    expect(packages).toContain("@aws-sdk/client-secrets-manager");
    expect(packages).not.toContain("aws-cdk-lib");
    expect(packages).not.toContain("constructs");
    expect(packages).not.toContain("undici");
    expect(packages.filter((name) => name.startsWith("@aws-sdk/client-"))).toEqual(["@aws-sdk/client-secrets-manager"]);
    expect(nodeModulesBytes).toBeLessThanOrEqual(READER_ONLY_MAX_BYTES);
  });

  it("type-checks its reader and typed-client code with every declaration checked (strict, exactOptionalPropertyTypes, nodenext)", () => {
    expect(consumer.typecheckOutput).toBe("");
  });

  it("reads the token from moto, catches each reader error by the class the entry exports, and loads the typed clients", async () => {
    const valid = uniqueName("consumer-token");
    const empty = uniqueName("consumer-empty");
    const malformed = uniqueName("consumer-malformed");
    const missing = uniqueName("consumer-missing");
    await createSecret(valid, { accessToken: "consumer-access-token", tokenType: "bearer", expiresAt: new Date(Date.now() + 3_600_000).toISOString() });
    await createSecret(empty, {});
    await createSecret(malformed, "{not json");
    const script = join(consumer.service.dir, "read.mjs");
    writeFileSync(
      script,
      `import { SecretFormatError, TokenReader, TokenSecretReadError, TokenUnavailableError } from "token-refresher/reader";
import { IotAuthClient } from "token-refresher/iot";
import { OAuth2TokenClient } from "token-refresher/oauth2";
const outcomes = {};
for (const secretId of process.argv.slice(2)) {
  try {
    const token = await new TokenReader({ secretId }).getToken();
    outcomes[secretId] = { tokenType: token.tokenType, valid: token.expiresAt > new Date() };
  } catch (error) {
    const kinds = { TokenSecretReadError, TokenUnavailableError, SecretFormatError };
    outcomes[secretId] = { secretId: error.secretId, is: Object.keys(kinds).filter((name) => error instanceof kinds[name]) };
  }
}
outcomes.clients = [typeof IotAuthClient.fromClientSecret, typeof OAuth2TokenClient.fromClientSecret];
console.log(JSON.stringify(outcomes));
`,
    );
    // The AWS SDK's settings (AWS_ENDPOINT_URL: the suite's front to moto) come from this process's environment.
    const { stdout } = await execFileAsync(process.execPath, [script, valid, empty, malformed, missing], { cwd: consumer.service.dir });
    expect(JSON.parse(stdout)).toEqual({
      [valid]: { tokenType: "bearer", valid: true },
      [empty]: { secretId: empty, is: ["TokenUnavailableError"] },
      [malformed]: { secretId: malformed, is: ["SecretFormatError"] },
      [missing]: { secretId: missing, is: ["TokenSecretReadError", "TokenUnavailableError"] },
      clients: ["function", "function"],
    });
  });

  it("runs the CLI: `npx token-refresher` is self-contained", async () => {
    const { stdout } = await execFileAsync(join(consumer.service.dir, "node_modules", ".bin", "token-refresher"), ["--help"], { cwd: consumer.service.dir });
    expect(stdout).toContain("Usage: token-refresher <command> [options]");
  });

  it("cannot load token-refresher/cdk, whose peers it has not installed", async () => {
    const attempt = execFileAsync(process.execPath, ["--input-type=module", "-e", 'await import("token-refresher/cdk")'], { cwd: consumer.service.dir });
    await expect(attempt).rejects.toThrow(/Cannot find package 'aws-cdk-lib'/);
  });
});

describe("a CDK app that installs the package", () => {
  it("type-checks its app (strict, exactOptionalPropertyTypes, nodenext)", () => {
    expect(consumer.typecheckOutput).toBe("");
    expect(existsSync(join(consumer.app.dir, "build", "app.js"))).toBe(true);
  });

  it.each([
    ["the refresher", "PlantAFunction", "handler"],
    ["the fleet's scheduler", "PlantsSchedulerFunction", "fleet/scheduler"],
    ["the fleet's worker", "PlantsWorkerFunction", "fleet/worker"],
  ])("synthesizes %s with the shipped bundle as its asset: no lockfile, esbuild or Docker at the consumer", (_, logicalIdPrefix, bundle) => {
    const functions = resourcesOfType("AWS::Lambda::Function").filter(([id]) => id.startsWith(logicalIdPrefix));
    expect(functions).toHaveLength(1);
    const [, fn] = functions[0]!;
    expect([fn.Properties.Runtime, fn.Properties.Handler]).toEqual(["nodejs22.x", "index.handler"]);
    const s3Key = (fn.Properties.Code as { S3Key: string }).S3Key;
    const manifest = JSON.parse(readFileSync(join(consumer.cdkOut, `${CONSUMER_STACK}.assets.json`), "utf8")) as {
      files: Record<string, { source: { path: string; packaging: string }; destinations: Record<string, { objectKey: string }> }>;
    };
    const assets = Object.values(manifest.files).filter((asset) => Object.values(asset.destinations).some((destination) => destination.objectKey === s3Key));
    expect(assets).toHaveLength(1);
    expect(assets[0]!.source.packaging).toBe("zip");
    const assetDir = join(consumer.cdkOut, assets[0]!.source.path);
    expect(readdirSync(assetDir).sort()).toEqual(["index.mjs", "index.mjs.map"]);
    const shipped = readFileSync(join(consumer.app.dir, "node_modules", "token-refresher", "dist", bundle, "index.mjs"));
    expect(readFileSync(join(assetDir, "index.mjs")).equals(shipped), "the asset is the packed bundle, byte for byte").toBe(true);
  });

  it("grants the consumer's role read access to the token secret only", () => {
    const roles = resourcesOfType("AWS::IAM::Role").filter(([id]) => id.startsWith("ServiceRole"));
    expect(roles).toHaveLength(1);
    const [roleId] = roles[0]!;
    const statements = resourcesOfType("AWS::IAM::Policy")
      .filter(([, policy]) => JSON.stringify(policy.Properties.Roles).includes(roleId))
      .flatMap(([, policy]) => (policy.Properties.PolicyDocument as { Statement: { Action: string | string[]; Resource: unknown }[] }).Statement);
    const actions = statements.flatMap((statement) => [statement.Action].flat());
    expect(actions).toContain("secretsmanager:GetSecretValue");
    expect(actions.filter((action) => action.startsWith("secretsmanager:") && action !== "secretsmanager:GetSecretValue" && action !== "secretsmanager:DescribeSecret")).toEqual([]);
    const tokenSecrets = resourcesOfType("AWS::SecretsManager::Secret").filter(([id]) => /Token/i.test(id));
    expect(tokenSecrets).toHaveLength(1);
    expect(JSON.stringify(statements)).toContain(tokenSecrets[0]![0]);
  });
});
