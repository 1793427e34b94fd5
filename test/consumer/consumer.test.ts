// The package as another project gets it: packed, installed offline outside this repository,
// type-checked under a strict consumer configuration, and synthesized (README, "Using the construct
// in your own CDK app").
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CONSUMER_STACK, createConsumerProject, type ConsumerProject } from "./consumer-project.js";

interface Resource {
  readonly Type: string;
  readonly Properties: Record<string, unknown>;
}

let consumer: ConsumerProject;

beforeAll(async () => {
  consumer = await createConsumerProject();
  const { packed, timings } = consumer;
  console.log(
    `package: ${(packed.size / 1024).toFixed(1)} KiB packed, ${(packed.unpackedSize / 1024).toFixed(1)} KiB unpacked, ${packed.files.length} files; ` +
      `pack ${(timings.packMs / 1000).toFixed(1)} s, offline install ${(timings.installMs / 1000).toFixed(1)} s, ` +
      `consumer tsc ${(timings.typecheckMs / 1000).toFixed(1)} s, consumer synth ${(timings.synthMs / 1000).toFixed(1)} s`,
  );
}, 240_000);

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
    expect(paths).toEqual(expect.arrayContaining(["package.json", "README.md", "dist/cdk.mjs", "dist/reader.mjs", "dist/token-refresher.mjs", "dist/handler/index.mjs"]));
    expect(paths.filter((path) => !/^(dist\/|package\.json$|README\.md$)/.test(path))).toEqual([]);
    expect(paths.filter((path) => /(^|\/)(test|\.ci)\//.test(path) || /\.test\./.test(path))).toEqual([]);
    expect(paths.filter((path) => path.startsWith("dist/types/") && !path.endsWith(".d.ts"))).toEqual([]);
  });

  it("installs as a dependency with no scripts to run and aws-cdk-lib/constructs as peers", () => {
    const installed = join(consumer.dir, "project", "node_modules", "token-refresher");
    const manifest = JSON.parse(readFileSync(join(installed, "package.json"), "utf8")) as Record<string, unknown>;
    expect(manifest.private).toBeUndefined();
    for (const hook of ["preinstall", "install", "postinstall"]) expect(manifest.scripts).not.toHaveProperty(hook);
    expect(Object.keys(manifest.peerDependencies as object).sort()).toEqual(["aws-cdk-lib", "constructs"]);
    expect(Object.keys(manifest.dependencies as object)).not.toContain("aws-cdk-lib");
    expect(existsSync(join(installed, "dist", "handler", "index.mjs"))).toBe(true);
  });

  it("links the CLI: `npx token-refresher` runs from the installed package", async () => {
    const project = join(consumer.dir, "project");
    const { stdout } = await promisify(execFile)(join(project, "node_modules", ".bin", "token-refresher"), ["--help"], { cwd: project });
    expect(stdout).toContain("Usage: token-refresher <command> [options]");
  });

  it("type-checks the consumer's CDK app and reader usage (strict, exactOptionalPropertyTypes, nodenext, declarations checked)", () => {
    expect(consumer.typecheckOutput).toBe("");
  });

  it("synthesizes the construct with the shipped handler asset: no lockfile, esbuild or Docker at the consumer", () => {
    const functions = resourcesOfType("AWS::Lambda::Function").filter(([, fn]) => fn.Properties.Handler === "index.handler");
    expect(functions).toHaveLength(1);
    const [, fn] = functions[0]!;
    expect(fn.Properties.Runtime).toBe("nodejs22.x");
    const s3Key = (fn.Properties.Code as { S3Key: string }).S3Key;
    const manifest = JSON.parse(readFileSync(join(consumer.cdkOut, `${CONSUMER_STACK}.assets.json`), "utf8")) as {
      files: Record<string, { source: { path: string; packaging: string }; destinations: Record<string, { objectKey: string }> }>;
    };
    const assets = Object.values(manifest.files).filter((asset) => Object.values(asset.destinations).some((destination) => destination.objectKey === s3Key));
    expect(assets).toHaveLength(1);
    expect(assets[0]!.source.packaging).toBe("zip");
    const assetDir = join(consumer.cdkOut, assets[0]!.source.path);
    expect(readdirSync(assetDir).sort()).toEqual(["index.mjs", "index.mjs.map"]);
    const shipped = readFileSync(join(consumer.dir, "project", "node_modules", "token-refresher", "dist", "handler", "index.mjs"));
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
