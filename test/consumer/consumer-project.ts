// Two consumers of the packed package, as README.md and docs/construct.md tell them to set up:
// - a service that only reads the token (`token-refresher/reader`, and the typed clients): it installs
//   the tarball alone and gets real copies of what npm installs with it, so its node_modules is
//   measured as a service would have it;
// - a CommonJS TypeScript CDK app (what `cdk init app --language typescript` makes) that creates a
//   TokenRefresher, grants a service role read access, and creates a TokenRefresherFleet; it brings its
//   own aws-cdk-lib and constructs.
// Used by test/consumer/consumer.test.ts and test/bench/package.ts.
import { execFile } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { promisify } from "node:util";
import { URL, fileURLToPath } from "node:url";

const execFileAsync = promisify(execFile);
const REPO = fileURLToPath(new URL("../..", import.meta.url));
const REPO_MODULES = join(REPO, "node_modules");
const TSC = join(REPO_MODULES, "typescript", "bin", "tsc");

export const CONSUMER_STACK = "ConsumerStack";
export const CREDENTIAL_NAME = "plant-a";

/** The consumer's CDK app (bin/app.ts of a `cdk init` project). */
export const APP_TS = `import { App, Stack } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import { TokenRefresher, TokenRefresherFleet, type TokenRefresherProps } from "token-refresher/cdk";

const app = new App();
const stack = new Stack(app, "${CONSUMER_STACK}", { env: { account: "123456789012", region: "eu-west-1" } });
const props: TokenRefresherProps = {
  credentialName: "${CREDENTIAL_NAME}",
  endpointUrl: "https://iot.example.com:8743",
};
const plant = new TokenRefresher(stack, "PlantA", props);
const service = new iam.Role(stack, "ServiceRole", { assumedBy: new iam.ServicePrincipal("ecs-tasks.amazonaws.com") });
plant.grantRead(service);
new TokenRefresherFleet(stack, "Plants", { fleetName: "plants" });
app.synth();
`;

/** The consuming service's use of the reader, catching each of its errors by type. */
export const SERVICE_TS = `import { SecretFormatError, TokenReader, TokenSecretReadError, TokenUnavailableError, type AccessToken } from "token-refresher/reader";

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
    if (error instanceof TokenSecretReadError) console.warn(\`\${error.secretId}: \${error.errorName} (HTTP \${error.httpStatus ?? "none"})\`);
    else if (error instanceof SecretFormatError) console.warn(\`\${error.secretId ?? "?"}: \${error.field}\`);
    if (error instanceof TokenUnavailableError || error instanceof SecretFormatError) return undefined;
    throw error;
  }
}
`;

/** The same service's use of the typed platform clients. */
export const CLIENTS_TS = `import { IotAuthClient, PlatformError } from "token-refresher/iot";
import { OAuth2TokenClient } from "token-refresher/oauth2";

export type PlatformClients = readonly [IotAuthClient, OAuth2TokenClient];
export const isPlatformError = (error: unknown): error is PlatformError => error instanceof PlatformError;
`;

/**
 * The strictest settings a consumer is likely to have. aws-cdk-lib's own declarations do not pass
 * exactOptionalPropertyTypes, so the app is checked as `cdk init` sets it up, with skipLibCheck; the
 * service is checked with every declaration it loads, this package's included.
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
export const TSCONFIG_APP = { compilerOptions: { ...STRICT, skipLibCheck: true, rootDir: "src", outDir: "build" }, include: ["src"] };
/** The service's TypeScript and @types/node are its own dev tools, not what the package brings: taken from this repository. */
export const TSCONFIG_SERVICE = { compilerOptions: { ...STRICT, skipLibCheck: false, noEmit: true, typeRoots: [join(REPO_MODULES, "@types")] }, include: ["src"] };

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

export interface InstalledProject {
  readonly dir: string;
  /** Packages in node_modules, by name. */
  readonly packages: readonly string[];
  /** Bytes of every file in node_modules (links counted as links). */
  readonly nodeModulesBytes: number;
  /** Packages whose install scripts `npm install` listed as not covered by the project's allowScripts. */
  readonly unreviewedInstallScripts: readonly string[];
}

export interface ConsumerTimings {
  readonly packMs: number;
  readonly serviceInstallMs: number;
  readonly appInstallMs: number;
  readonly typecheckMs: number;
  readonly synthMs: number;
}

export interface ConsumerProjects {
  readonly dir: string;
  readonly packed: Packed;
  /** The reader-only service. */
  readonly service: InstalledProject;
  /** The CDK app. */
  readonly app: InstalledProject;
  readonly timings: ConsumerTimings;
  readonly cdkOut: string;
  /** tsc's output for both projects (empty when both type checks passed). */
  readonly typecheckOutput: string;
  remove(): void;
}

async function timed(run: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await run();
  return performance.now() - started;
}

async function run(command: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<{ stdout: string; stderr: string }> {
  try {
    return await execFileAsync(command, args, { cwd, maxBuffer: 64 * 2 ** 20, env: { ...process.env, ...env } });
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(" ")} failed in ${cwd}:\n${failed.stdout ?? ""}${failed.stderr ?? ""}`, { cause: error });
  }
}

interface Manifest {
  readonly name: string;
  readonly dependencies?: Record<string, string>;
  readonly optionalDependencies?: Record<string, string>;
  readonly peerDependencies?: Record<string, string>;
  readonly peerDependenciesMeta?: Record<string, { readonly optional?: boolean }>;
}

const readManifest = (dir: string) => JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as Manifest;

/** Where Node finds package `name` from `dir`: the nearest node_modules up the tree. */
function resolvePackage(name: string, dir: string): string {
  for (let at = dir; ; at = dirname(at)) {
    const candidate = join(at, "node_modules", name);
    if (existsSync(join(candidate, "package.json"))) return candidate;
    if (at === dirname(at)) throw new Error(`${name} (needed from ${dir}) is not installed in this repository`);
  }
}

/**
 * What npm installs with a package whose manifest is `manifest`: its dependencies, optional
 * dependencies and the peers not marked optional (npm 7 and later install those), and theirs, as this
 * repository's node_modules holds them, by name. Two versions of one name cannot be installed from here.
 */
function installedWith(manifest: Manifest, from: string): Map<string, string> {
  const found = new Map<string, string>();
  const visit = (current: Manifest, dir: string) => {
    const requiredPeers = Object.keys(current.peerDependencies ?? {}).filter((name) => !current.peerDependenciesMeta?.[name]?.optional);
    for (const name of new Set([...Object.keys(current.dependencies ?? {}), ...Object.keys(current.optionalDependencies ?? {}), ...requiredPeers])) {
      const location = resolvePackage(name, dir);
      const known = found.get(name);
      if (known === location) continue;
      if (known) throw new Error(`${name} is installed twice in this repository (${known}, ${location}): the consumer install needs one copy`);
      found.set(name, location);
      visit(readManifest(location), location);
    }
  };
  visit(manifest, from);
  return found;
}

function directoryBytes(dir: string): number {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).reduce((sum, entry) => sum + lstatSync(join(entry.parentPath, entry.name)).size, 0);
}

/** The packages in `dir`/node_modules, scoped ones as `@scope/name`. */
function packagesIn(dir: string): string[] {
  const modules = join(dir, "node_modules");
  return readdirSync(modules)
    .filter((name) => !name.startsWith("."))
    .flatMap((name) => (name.startsWith("@") ? readdirSync(join(modules, name)).map((scoped) => `${name}/${scoped}`) : [name]))
    .sort();
}

/**
 * `npm install` in `dir`, and the packages whose install scripts it lists as not covered by allowScripts
 * (npm 11: "npm warn install-scripts   name@version (prepare: ...)"; `npm install-scripts ls` does not
 * list a tarball's `prepare`, the install does).
 */
async function npmInstall(dir: string, flags: string[]): Promise<string[]> {
  const { stdout, stderr } = await run("npm", ["install", "--offline", "--no-audit", "--no-fund", "--loglevel=warn", ...flags], dir);
  return [...`${stdout}${stderr}`.matchAll(/^npm warn install-scripts {2,}(@?[^@\s]+)@\S+ \(/gm)].map((match) => match[1]!);
}

function installed(dir: string, unreviewedInstallScripts: string[]): InstalledProject {
  return { dir, packages: packagesIn(dir), nodeModulesBytes: directoryBytes(join(dir, "node_modules")), unreviewedInstallScripts };
}

function writeProject(dir: string, dependencies: Record<string, string>, files: Record<string, string | object>): void {
  mkdirSync(join(dir, "src"), { recursive: true });
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "consumer", version: "1.0.0", private: true, dependencies }, null, 2));
  for (const [path, content] of Object.entries(files)) writeFileSync(join(dir, path), typeof content === "string" ? content : JSON.stringify(content, null, 2));
}

/**
 * `npm pack` this repository (prepack builds dist/ if the sources changed), then install the tarball
 * into two new projects outside the repository, offline, with this repository's node_modules (what
 * `npm ci` installed) as the source of everything else, so nothing is fetched:
 * - the service gets the tarball, and what npm installs with it as real copies (`file:` links packed
 *   by npm, --install-links): its node_modules holds exactly what a service's would;
 * - the CDK app links the package's dependencies, aws-cdk-lib, constructs and its TypeScript.
 * Then type-check both and synthesize the app with plain node.
 */
export async function createConsumerProjects(): Promise<ConsumerProjects> {
  const dir = mkdtempSync(join(tmpdir(), "token-refresher-consumer-"));
  try {
    let packOutput = "";
    const packMs = await timed(async () => {
      packOutput = (await run("npm", ["pack", "--json", "--pack-destination", dir], REPO)).stdout;
    });
    const [report] = JSON.parse(packOutput.slice(packOutput.search(/^\[/m))) as { filename: string; size: number; unpackedSize: number; files: PackedFile[] }[];
    const packed: Packed = { tarball: join(dir, report!.filename), size: report!.size, unpackedSize: report!.unpackedSize, files: report!.files };
    const manifest = readManifest(REPO);
    const link = (location: string) => `file:${location}`;

    const service = join(dir, "service");
    const withPackage = Object.fromEntries([...installedWith(manifest, REPO)].map(([name, location]) => [name, link(location)]));
    writeProject(service, { "token-refresher": link(packed.tarball), ...withPackage }, {
      "tsconfig.json": TSCONFIG_SERVICE,
      "src/service.ts": SERVICE_TS,
      "src/clients.ts": CLIENTS_TS,
    });
    // No --ignore-scripts: the install runs (and lists) whatever install script the package would have.
    let serviceUnreviewed: string[] = [];
    const serviceInstallMs = await timed(async () => {
      serviceUnreviewed = await npmInstall(service, ["--install-links"]);
    });

    const app = join(dir, "app");
    const linked = [...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.peerDependencies ?? {}), "typescript", "@types/node"];
    writeProject(app, { "token-refresher": link(packed.tarball), ...Object.fromEntries(linked.map((name) => [name, link(join(REPO_MODULES, name))])) }, {
      "tsconfig.json": TSCONFIG_APP,
      "src/app.ts": APP_TS,
    });
    let appUnreviewed: string[] = [];
    const appInstallMs = await timed(async () => {
      appUnreviewed = await npmInstall(app, ["--install-links=false", "--ignore-scripts"]);
    });

    let typecheckOutput = "";
    const typecheckMs = await timed(() =>
      Promise.all(
        [
          [process.execPath, [TSC, "-p", "tsconfig.json"], service],
          [process.execPath, [join(app, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"], app],
        ].map(([command, args, cwd]) =>
          run(command as string, args as string[], cwd as string).catch((error: Error) => {
            typecheckOutput += error.message;
          }),
        ),
      ),
    );
    const cdkOut = join(app, "cdk.out");
    const synthMs = await timed(() =>
      // What `cdk synth` does with the app command `node build/app.js`: run it with CDK_OUTDIR set.
      run(process.execPath, [join(app, "build", "app.js")], app, { CDK_OUTDIR: cdkOut }).catch((error: Error) => {
        throw typecheckOutput ? new Error(`${typecheckOutput}\n${error.message}`) : error;
      }),
    );
    return {
      dir,
      packed,
      service: installed(service, serviceUnreviewed),
      app: installed(app, appUnreviewed),
      timings: { packMs, serviceInstallMs, appInstallMs, typecheckMs, synthMs },
      cdkOut,
      typecheckOutput,
      remove: () => rmSync(dir, { recursive: true, force: true }),
    };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
