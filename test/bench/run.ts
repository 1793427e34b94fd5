// npm run bench: prints the figures behind the size and speed choices (bundle size, cold import,
// run latency, memory). Figures, not assertions: it never fails on a number.
import { execFile, spawnSync } from "node:child_process";
import { promisify } from "node:util";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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
import { benchRotation } from "./rotation.js";
import { benchCost } from "./cost.js";
import { createTestPki } from "../../bin/local/pki.js";

const execFileAsync = promisify(execFile);
const ENTRY = "lambda/handler.ts";
const RUNS = Number(process.env.BENCH_RUNS ?? 20);

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const p95 = (values: number[]) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * 0.95))]!;
const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

async function bundle(dir: string, sdkExternal: boolean): Promise<string> {
  const outfile = join(dir, sdkExternal ? "external.mjs" : "bundled.mjs");
  await build({
    entryPoints: [ENTRY],
    bundle: true,
    minify: true,
    platform: "node",
    target: "node22",
    format: "esm",
    outfile,
    external: sdkExternal ? ["@aws-sdk/*"] : [],
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
process.stdout.write = () => true;
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
}) + "\\n");
`;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "token-refresher-bench-"));
  const moto = await startMoto();
  try {
    console.log("== bundle (esbuild, minified, ESM, node22)");
    const bundled = await bundle(dir, false);
    const external = await bundle(dir, true);
    for (const [label, file] of [["@aws-sdk bundled", bundled], ["@aws-sdk external", external]] as const) {
      const bytes = readFileSync(file);
      console.log(`${label.padEnd(20)} ${kib(bytes.length).padStart(10)}  gzip ${kib(gzipSync(bytes).length)}`);
    }

    console.log("\n== cold import of the bundled handler (new node process, module-scope clients built)");
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
      `const t = performance.now(); await import(${JSON.stringify(bundled)}); ` +
        `process.stdout.write(JSON.stringify({ importMs: performance.now() - t, rssMiB: process.memoryUsage().rss / 2 ** 20 }));`,
    );
    const imports: number[] = [];
    let rss = 0;
    for (let i = 0; i < 5; i++) {
      const child = spawnSync(process.execPath, [probe], { env, encoding: "utf8" });
      const figures = JSON.parse(child.stdout) as { importMs: number; rssMiB: number };
      imports.push(figures.importMs);
      rss = Math.max(rss, figures.rssMiB);
    }
    console.log(`import median ${median(imports).toFixed(1)} ms over 5 processes; RSS after import ${rss.toFixed(1)} MiB`);

    console.log(`\n== refresh runs of the bundled handler against moto + the IoT simulator (${RUNS} each)`);
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
      const { stdout } = await execFileAsync(process.execPath, [runner, bundled, String(RUNS)], {
        env: { ...env, CLIENT_SECRET_ID: `bench-client-${suffix}`, TOKEN_SECRET_ID: `bench-token-${suffix}`, STATE_TABLE_NAME: stateTable, ENDPOINT_URL: platform.baseUrl, EVENT_BUS_NAME: "" },
      });
      const figures = JSON.parse(stdout.trim().split("\n").at(-1)!) as Record<string, number[] | number>;
      for (const [label, values] of Object.entries(figures)) {
        if (Array.isArray(values)) console.log(`${label.padEnd(28)} median ${median(values).toFixed(1)} ms   p95 ${p95(values).toFixed(1)} ms`);
        else console.log(`${label.padEnd(28)} ${values.toFixed(1)}`);
      }
    } finally {
      await platform.close();
    }
    await benchProtocol(moto.endpoint);
    await benchRotation(moto.endpoint);
    await benchCost(moto.endpoint);
    await benchPackage();
    benchFleetTemplate();
  } finally {
    await moto.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
