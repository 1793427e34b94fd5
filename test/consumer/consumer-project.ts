// A consumer of the packed package, as the README's "Using the construct in your own CDK app" tells one
// to set it up: a CommonJS TypeScript CDK app (what `cdk init app --language typescript` makes) that
// creates a TokenRefresher and grants a service role read access, plus a service reading the token.
// Used by test/consumer/consumer.test.ts and test/bench/package.ts.
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { promisify } from "node:util";
import { URL, fileURLToPath } from "node:url";

const execFileAsync = promisify(execFile);
const REPO = fileURLToPath(new URL("../..", import.meta.url));
const REPO_MODULES = join(REPO, "node_modules");

export const CONSUMER_STACK = "ConsumerStack";
export const CREDENTIAL_NAME = "plant-a";

/** The consumer's CDK app (bin/app.ts of a `cdk init` project). */
export const APP_TS = `import { App, Stack } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import { TokenRefresher, type TokenRefresherProps } from "token-refresher/cdk";

const app = new App();
const stack = new Stack(app, "${CONSUMER_STACK}", { env: { account: "123456789012", region: "eu-west-1" } });
const props: TokenRefresherProps = {
  credentialName: "${CREDENTIAL_NAME}",
  endpointUrl: "https://iot.example.com:8743",
};
const plant = new TokenRefresher(stack, "PlantA", props);
const service = new iam.Role(stack, "ServiceRole", { assumedBy: new iam.ServicePrincipal("ecs-tasks.amazonaws.com") });
plant.grantRead(service);
app.synth();
`;

/** The consuming service's use of the reader. */
export const SERVICE_TS = `import { TokenReader, TokenUnavailableError, type AccessToken } from "token-refresher/reader";

const reader = new TokenReader({
  secretId: process.env.IOT_TOKEN_SECRET_ARN ?? "plant-a-token",
  refreshMarginSeconds: 60,
});

export async function listDevices(appId: string): Promise<Response> {
  return reader.fetch("https://iot.example.com:8743/iocm/app/dm/v1.4.0/devices?pageNo=0&pageSize=10", { headers: { app_key: appId } });
}

export async function currentToken(): Promise<AccessToken | undefined> {
  try {
    return await reader.getToken();
  } catch (error) {
    if (error instanceof TokenUnavailableError) return undefined;
    throw error;
  }
}
`;

/**
 * The strictest settings a consumer is likely to have. aws-cdk-lib's own declarations do not pass
 * exactOptionalPropertyTypes, so the app is checked as `cdk init` sets it up, with skipLibCheck; the
 * service (reader only) is checked with every declaration it loads, this package's included.
 */
const STRICT = {
  target: "ES2022",
  lib: ["ES2023", "DOM"],
  module: "nodenext",
  moduleResolution: "nodenext",
  strict: true,
  exactOptionalPropertyTypes: true,
  noUncheckedIndexedAccess: true,
  types: ["node"],
};
export const TSCONFIG = { compilerOptions: { ...STRICT, skipLibCheck: true, rootDir: "src", outDir: "build" }, include: ["src"] };
export const TSCONFIG_SERVICE = { compilerOptions: { ...STRICT, skipLibCheck: false, noEmit: true }, files: ["src/service.ts"] };

export interface PackedFile {
  readonly path: string;
  readonly size: number;
}

export interface Packed {
  readonly tarball: string;
  /** Bytes of the .tgz. */
  readonly size: number;
  readonly unpackedSize: number;
  readonly files: readonly PackedFile[];
}

export interface ConsumerTimings {
  readonly packMs: number;
  readonly installMs: number;
  readonly typecheckMs: number;
  readonly synthMs: number;
}

export interface ConsumerProject {
  readonly dir: string;
  readonly packed: Packed;
  readonly timings: ConsumerTimings;
  readonly cdkOut: string;
  /** tsc's output (empty when the type check passed). */
  readonly typecheckOutput: string;
  remove(): void;
}

async function timed(run: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await run();
  return performance.now() - started;
}

async function run(command: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<string> {
  try {
    const { stdout } = await execFileAsync(command, args, { cwd, maxBuffer: 64 * 2 ** 20, env: { ...process.env, ...env } });
    return stdout;
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(" ")} failed in ${cwd}:\n${failed.stdout ?? ""}${failed.stderr ?? ""}`, { cause: error });
  }
}

/**
 * `npm pack` this repository (its `prepare` builds dist/), then install the tarball into a new
 * project outside the repository, offline: the package's dependencies and peers, and the consumer's
 * TypeScript, are `file:` links into this repository's node_modules (what `npm ci` installed), so
 * nothing is fetched. Then type-check the consumer's code and synthesize its app with plain node.
 */
export async function createConsumerProject(): Promise<ConsumerProject> {
  const dir = mkdtempSync(join(tmpdir(), "token-refresher-consumer-"));
  try {
    let packOutput = "";
    const packMs = await timed(async () => {
      packOutput = await run("npm", ["pack", "--json", "--pack-destination", dir], REPO);
    });
    const [report] = JSON.parse(packOutput.slice(packOutput.search(/^\[/m))) as { filename: string; size: number; unpackedSize: number; files: PackedFile[] }[];
    const packed: Packed = { tarball: join(dir, report!.filename), size: report!.size, unpackedSize: report!.unpackedSize, files: report!.files };

    const manifest = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as Record<string, Record<string, string>>;
    const linked = [...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.peerDependencies ?? {}), "typescript", "@types/node"];
    const dependencies: Record<string, string> = { "token-refresher": `file:${packed.tarball}` };
    for (const name of linked) dependencies[name] = `file:${join(REPO_MODULES, name)}`;
    const project = join(dir, "project");
    mkdirSync(join(project, "src"), { recursive: true });
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "consumer", version: "1.0.0", private: true, dependencies }, null, 2));
    writeFileSync(join(project, "tsconfig.json"), JSON.stringify(TSCONFIG, null, 2));
    writeFileSync(join(project, "tsconfig.service.json"), JSON.stringify(TSCONFIG_SERVICE, null, 2));
    writeFileSync(join(project, "src", "app.ts"), APP_TS);
    writeFileSync(join(project, "src", "service.ts"), SERVICE_TS);

    const installMs = await timed(() =>
      run("npm", ["install", "--offline", "--install-links=false", "--legacy-peer-deps", "--ignore-scripts", "--no-audit", "--no-fund"], project),
    );
    const tsc = join(project, "node_modules", "typescript", "bin", "tsc");
    let typecheckOutput = "";
    const typecheckMs = await timed(() =>
      Promise.all(
        ["tsconfig.json", "tsconfig.service.json"].map((config) =>
          run(process.execPath, [tsc, "-p", config], project).catch((error: Error) => {
            typecheckOutput += error.message;
          }),
        ),
      ),
    );
    const cdkOut = join(project, "cdk.out");
    const synthMs = await timed(() =>
      // What `cdk synth` does with the app command `node build/app.js`: run it with CDK_OUTDIR set.
      run(process.execPath, [join(project, "build", "app.js")], project, { CDK_OUTDIR: cdkOut }).catch((error: Error) => {
        throw typecheckOutput ? new Error(`${typecheckOutput}\n${error.message}`) : error;
      }),
    );
    return {
      dir,
      packed,
      timings: { packMs, installMs, typecheckMs, synthMs },
      cdkOut,
      typecheckOutput,
      remove: () => rmSync(dir, { recursive: true, force: true }),
    };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
