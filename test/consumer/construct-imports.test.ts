// Importing the construct (synth time, in the consumer's CDK app) must not load what only the
// Lambda needs: the HTTP client and the Secrets Manager SDK. A fresh node process imports the module
// and reports every module it loaded: ESM resolutions through a module hook, CommonJS ones from
// require.cache (CommonJS requires inside CommonJS packages do not pass the hook on Node 20).
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

const execFileAsync = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), "token-refresher-imports-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const HOOKS = `import { appendFileSync } from "node:fs";
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  appendFileSync(process.env.LOADED_LOG, resolved.url + "\\n");
  return resolved;
}
`;
writeFileSync(join(dir, "hooks.mjs"), HOOKS);
writeFileSync(join(dir, "register.mjs"), `import { register } from "node:module";\nregister(${JSON.stringify(pathToFileURL(join(dir, "hooks.mjs")).href)});\n`);

/** Every module a new node process loads while importing `file` (a repository path). */
async function modulesLoadedBy(file: string): Promise<string[]> {
  const log = join(dir, `${file.replaceAll("/", "_")}.log`);
  const script =
    `await import(${JSON.stringify(pathToFileURL(join(process.cwd(), file)).href)});` +
    `const { createRequire } = await import("node:module"); const { appendFileSync } = await import("node:fs");` +
    `appendFileSync(process.env.LOADED_LOG, Object.keys(createRequire(import.meta.url).cache).join("\\n"));`;
  await execFileAsync(process.execPath, ["--import", "tsx", "--import", join(dir, "register.mjs"), "--input-type=module", "-e", script], {
    env: { ...process.env, LOADED_LOG: log },
  });
  return readFileSync(log, "utf8").split("\n").filter(Boolean);
}

const HTTP_CLIENT = /\/node_modules\/undici\//;
const SECRETS_MANAGER_SDK = /\/node_modules\/@aws-sdk\/client-secrets-manager\//;

describe("importing the construct", () => {
  it("loads aws-cdk-lib but no HTTP client and no Secrets Manager SDK", async () => {
    const loaded = await modulesLoadedBy("infra/token-refresher/index.ts");
    expect(loaded.some((module) => module.includes("/node_modules/aws-cdk-lib/")), "the report sees the construct's own dependencies").toBe(true);
    expect(loaded.filter((module) => HTTP_CLIENT.test(module))).toEqual([]);
    expect(loaded.filter((module) => SECRETS_MANAGER_SDK.test(module))).toEqual([]);
  });

  it("is told apart from the handler, which loads both", async () => {
    const loaded = await modulesLoadedBy("lambda/refresh/workflow.ts");
    expect(loaded.some((module) => HTTP_CLIENT.test(module))).toBe(true);
    expect(loaded.some((module) => SECRETS_MANAGER_SDK.test(module))).toBe(true);
  });
});
