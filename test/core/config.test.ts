// The settings table's builders: the environment parser, a credential spec from a plain object, and
// the environment the construct writes, which the parser must read back exactly.
import { describe, expect, it } from "vitest";
import {
  checkCredential,
  credentialSpec,
  functionEnvironment,
  leaseSecondsFor,
  loadConfig,
  runBudgetMsFor,
  runtimeSettings,
  settingProblems,
} from "../../lambda/config/index.js";
import { SETTINGS, SETTING_FIELDS } from "../../lambda/config/table.js";
import { ConfigError } from "../../lambda/errors.js";

const base = {
  CREDENTIAL_NAME: "iot-app",
  CLIENT_SECRET_ID: "client",
  TOKEN_SECRET_ID: "token",
  STATE_TABLE_NAME: "state",
  ENDPOINT_URL: "https://iot.example.com:8743/",
};

describe("loadConfig (the Lambda's environment)", () => {
  it("applies the table's defaults; the lease derives from the run budget", () => {
    const { credential, runtime } = loadConfig(base);
    expect(credential).toEqual({ name: "iot-app", dialect: "iot", clientSecretId: "client", tokenSecretId: "token", endpointUrl: "https://iot.example.com:8743", refreshWindowSeconds: 900 });
    expect(runtime).toEqual({
      stateTableName: "state",
      httpTimeoutMs: 5_000,
      runBudgetMs: 25_000,
      leaseSeconds: leaseSecondsFor(25_000),
      awsRequestTimeoutMs: 3_000,
      metricsNamespace: "TokenRefresher",
      eventBusName: "default",
    });
    // One rule for both: the construct's timeout (40 s) gives this budget and this lease.
    expect(runBudgetMsFor(SETTINGS.timeoutSeconds.default)).toBe(SETTINGS.runBudgetMs.default);
    expect(leaseSecondsFor(runBudgetMsFor(40))).toBe(40 + 60);
  });

  it("gives OAuth2 credentials their OAuth2 defaults, and only them", () => {
    expect(loadConfig({ ...base, TOKEN_DIALECT: "oauth2" }).credential).toMatchObject({ oauth2TokenPath: "/api/v1/oauth2/token", oauth2DefaultExpiresInSeconds: 3600 });
    expect(loadConfig(base).credential).not.toHaveProperty("oauth2TokenPath");
  });

  it("lets an empty EVENT_BUS_NAME switch events off", () => {
    expect(loadConfig({ ...base, EVENT_BUS_NAME: "" }).runtime.eventBusName).toBe("");
  });

  it.each([
    [{ CREDENTIAL_NAME: "" }, "environment variable CREDENTIAL_NAME is required"],
    [{ STATE_TABLE_NAME: " " }, "environment variable STATE_TABLE_NAME is required"],
    [{ AWS_REQUEST_TIMEOUT_MS: "50" }, 'environment variable AWS_REQUEST_TIMEOUT_MS must be between 100 ms and 30 seconds, got "50"'],
    [{ ENDPOINT_URL: "http://iot.example.com" }, "environment variable ENDPOINT_URL must be an https URL"],
    [{ ENDPOINT_URL: "https://app:secret@iot.example.com" }, "environment variable ENDPOINT_URL must not contain credentials (they belong in the client secret)"],
    [{ TOKEN_DIALECT: "soap" }, 'environment variable TOKEN_DIALECT must be one of iot, oauth2, client_credentials, got "soap"'],
    [{ REFRESH_WINDOW_SECONDS: "15m" }, 'environment variable REFRESH_WINDOW_SECONDS must be a whole number, got "15m"'],
    [{ HTTP_TIMEOUT_MS: "30000", RUN_BUDGET_MS: "10000" }, 'environment variable HTTP_TIMEOUT_MS must not exceed the run budget (10 seconds), got "30000"'],
    [{ LEASE_SECONDS: "10", RUN_BUDGET_MS: "20000" }, 'environment variable LEASE_SECONDS must be longer than the run budget (20 seconds), got "10"'],
    [{ TOKEN_DIALECT: "oauth2", OAUTH2_TOKEN_PATH: "http://auth.example.com/token" }, "environment variable OAUTH2_TOKEN_PATH must be a path"],
    [{ TOKEN_SECRET_ID: "client" }, "environment variable TOKEN_SECRET_ID must not be the client secret"],
  ])("rejects %o with an error naming the variable", (override, message) => {
    expect(() => loadConfig({ ...base, ...override })).toThrow(message);
  });

  it("reports every bad variable at once, and names each setting for the CLI's hints", () => {
    let error: unknown;
    try {
      loadConfig({ ...base, CREDENTIAL_NAME: "", REFRESH_WINDOW_SECONDS: "x", TOKEN_DIALECT: "soap" });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.map((p) => p.field).sort()).toEqual(["dialect", "name", "refreshWindowSeconds"]);
    expect((error as ConfigError).setting).toBeDefined();
  });
});

describe("a credential spec from a plain object", () => {
  const plain = { name: "erp", dialect: "oauth2", clientSecretId: "erp/client", tokenSecretId: "erp/token", endpointUrl: "https://auth.example.com" };

  it("is built and checked by the same rules as the environment", () => {
    expect(credentialSpec({ ...plain, oauth2Scope: "read write" })).toEqual({
      ...plain,
      refreshWindowSeconds: 900,
      oauth2TokenPath: "/api/v1/oauth2/token",
      oauth2DefaultExpiresInSeconds: 3600,
      oauth2Scope: "read write",
    });
  });

  it("names every bad field by its setting, and unknown fields", () => {
    const { credential, problems, unknownFields } = checkCredential({ ...plain, endpointUrl: "http://x", oauth2Scope: "a  b", refreshWindowSeconds: -1, colour: "red" });
    expect(credential).toBeUndefined();
    expect(problems.map((p) => p.field).sort()).toEqual(["endpointUrl", "oauth2Scope", "refreshWindowSeconds"]);
    expect(unknownFields).toEqual(["colour"]);
    expect(() => credentialSpec({ ...plain, name: "a b" })).toThrow(/^invalid credential: name must be 1-64 letters/);
  });
});

describe("the environment the construct writes", () => {
  it("is read back by the parser as the same spec and runtime settings, for every dialect", () => {
    const runtime = runtimeSettings({ stateTableName: "state", eventBusName: "", scheduleRuleName: "s-a-schedule", alarmNames: ["s-a-AppFrozen", "s-a-RefreshFailed"] });
    for (const dialect of ["iot", "oauth2", "client_credentials"]) {
      const credential = credentialSpec({
        name: "a",
        dialect,
        clientSecretId: "c",
        tokenSecretId: "t",
        endpointUrl: "https://h.example.com",
        ...(dialect !== "iot" && { oauth2ClientAuth: "client_secret_basic", oauth2Scope: "read", oauth2Audience: "https://api" }),
      });
      expect(loadConfig(functionEnvironment(credential, runtime))).toEqual({ credential, runtime });
    }
  });

  it("carries every credential and runtime setting under the variable the table gives it", () => {
    const variables = SETTING_FIELDS.flatMap((field) => {
      const { group, env } = SETTINGS[field] as { group: string; env?: string };
      return (group === "credential" || group === "runtime") && env ? [env] : [];
    });
    const credential = credentialSpec({ name: "a", dialect: "oauth2", clientSecretId: "c", tokenSecretId: "t", endpointUrl: "https://h", oauth2ClientAuth: "client_secret_post", oauth2Scope: "s", oauth2Audience: "u" });
    const runtime = runtimeSettings({ stateTableName: "state", scheduleRuleName: "rule", alarmNames: ["x"] });
    expect(Object.keys(functionEnvironment(credential, runtime)).sort()).toEqual([...variables].sort());
  });
});

describe("the rule set", () => {
  it("checks rules across settings only when their inputs are set and valid", () => {
    expect(settingProblems({ refreshWindowSeconds: 300, scheduleIntervalSeconds: 300 })).toEqual([
      { field: "refreshWindowSeconds", problem: "must be longer than the schedule interval (5 minutes), or the token can expire between two runs" },
    ]);
    expect(settingProblems({ refreshWindowSeconds: 300 })).toEqual([]);
    expect(settingProblems({ refreshWindowSeconds: "x", scheduleIntervalSeconds: 300 })).toEqual([{ field: "refreshWindowSeconds", problem: "must be a whole number" }]);
    expect(settingProblems({ timeoutSeconds: 40, httpTimeoutMs: 30_000 })).toEqual([
      { field: "httpTimeoutMs", problem: "must not exceed the run budget (25 seconds: the timeout minus 15 s)" },
    ]);
  });
});
