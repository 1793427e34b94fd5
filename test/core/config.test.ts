import { describe, expect, it } from "vitest";
import { loadConfig } from "../../lambda/config.js";

const base = {
  CREDENTIAL_NAME: "iot-app",
  CLIENT_SECRET_ID: "client",
  TOKEN_SECRET_ID: "token",
  STATE_TABLE_NAME: "state",
  ENDPOINT_URL: "https://iot.example.com:8743/",
};

describe("loadConfig", () => {
  it("applies the documented defaults", () => {
    const config = loadConfig(base);
    expect(config).toMatchObject({
      dialect: "iot",
      endpointUrl: "https://iot.example.com:8743",
      oauth2TokenPath: "/api/v1/oauth2/token",
      refreshWindowSeconds: 900,
      httpTimeoutMs: 5_000,
      runBudgetMs: 25_000,
      leaseSeconds: 120,
      stateTableName: "state",
      awsRequestTimeoutMs: 3_000,
      metricsNamespace: "TokenRefresher",
      eventBusName: "default",
    });
  });

  it("lets an empty EVENT_BUS_NAME switch events off", () => {
    expect(loadConfig({ ...base, EVENT_BUS_NAME: "" }).eventBusName).toBe("");
  });

  it.each([
    [{ CREDENTIAL_NAME: "" }, /CREDENTIAL_NAME is required/],
    [{ STATE_TABLE_NAME: " " }, /STATE_TABLE_NAME is required/],
    [{ AWS_REQUEST_TIMEOUT_MS: "50" }, /AWS_REQUEST_TIMEOUT_MS must be between 100 and 30000/],
    [{ ENDPOINT_URL: "http://iot.example.com" }, /ENDPOINT_URL must use https/],
    [{ ENDPOINT_URL: "not a url" }, /ENDPOINT_URL is not a URL/],
    [{ TOKEN_DIALECT: "soap" }, /TOKEN_DIALECT must be one of iot, oauth2/],
    [{ REFRESH_WINDOW_SECONDS: "15m" }, /REFRESH_WINDOW_SECONDS must be a whole number/],
    [{ HTTP_TIMEOUT_MS: "30000", RUN_BUDGET_MS: "10000" }, /HTTP_TIMEOUT_MS \(30000\) must not exceed RUN_BUDGET_MS/],
    [{ LEASE_SECONDS: "10", RUN_BUDGET_MS: "20000" }, /LEASE_SECONDS \(10\) must be longer than RUN_BUDGET_MS/],
    [{ TOKEN_DIALECT: "oauth2", OAUTH2_TOKEN_PATH: "http://auth.example.com/token" }, /OAUTH2_TOKEN_PATH must use https/],
  ])("rejects %o with an error naming the variable", (override, message) => {
    expect(() => loadConfig({ ...base, ...override })).toThrow(message);
  });
});
