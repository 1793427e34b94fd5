// The OAuth2 dialect's pure parts: answer → TokenGrant or error (spec: "Errors: what each gets"),
// token URL resolution, client secret validation, and selection by TOKEN_DIALECT=oauth2.
import { describe, expect, it } from "vitest";
import { credentialSpec, loadConfig, oauth2TokenUrl, settingProblems } from "../../lambda/config/index.js";
import { createDialect } from "../../lambda/dialects/index.js";
import { createOAuth2Dialect } from "../../lambda/dialects/oauth2.js";
import { oauth2Error, readTokenResponse } from "../../lambda/oauth2/token-client.js";
import { Redactor } from "../../lambda/redaction.js";
import { ConfigError, PlatformError, ProtocolError, SecretFormatError } from "../../lambda/errors.js";

const OLD_REFRESH = "old-refresh-token-value";
const CREDENTIAL = credentialSpec({
  name: "huawei-cloud",
  dialect: "oauth2",
  clientSecretId: "client",
  tokenSecretId: "token",
  endpointUrl: "https://oauth.example.com",
  oauth2DefaultExpiresInSeconds: 1800,
});
if (CREDENTIAL.dialect === "iot") throw new Error("an OAuth2 credential");
const OAUTH2 = CREDENTIAL;

describe("token answers (200)", () => {
  it("reads the seed's example answer", () => {
    const body = { access_token: "9b0df2", token_type: "Bearer", expires_in: 7200, scope: "get_user_info", refresh_token: "dec7f1" };
    expect(readTokenResponse(body, OLD_REFRESH, 1800)).toEqual({
      accessToken: "9b0df2",
      refreshToken: "dec7f1",
      tokenType: "Bearer",
      scope: "get_user_info",
      expiresIn: 7200,
    });
  });

  it("keeps the old refresh token when none (or null) comes back, and defaults expires_in and token_type", () => {
    for (const body of [{ access_token: "at" }, { access_token: "at", refresh_token: null, expires_in: null }]) {
      expect(readTokenResponse(body, OLD_REFRESH, 1800)).toEqual({
        accessToken: "at",
        refreshToken: OLD_REFRESH,
        tokenType: "Bearer",
        scope: undefined,
        expiresIn: 1800,
      });
    }
  });

  it("tolerates expires_in as a numeric string", () => {
    expect(readTokenResponse({ access_token: "at", expires_in: " 3600 " }, OLD_REFRESH, 1800).expiresIn).toBe(3600);
  });

  it.each([
    [undefined, "without a JSON object body"],
    [[], "without a JSON object body"],
    [{ token_type: "Bearer" }, "field access_token is missing"],
    [{ access_token: "" }, "field access_token is not a non-empty string"],
    [{ access_token: "at", refresh_token: 42 }, "field refresh_token is not a non-empty string"],
    [{ access_token: "at", expires_in: -5 }, "field expires_in is not a positive whole number"],
    [{ access_token: "at", expires_in: "soon" }, "field expires_in is not a positive whole number"],
    [{ access_token: "at", expires_in: 1.5 }, "field expires_in is not a positive whole number"],
  ])("rejects a malformed answer %j as a ProtocolError naming the field", (body, problem) => {
    const read = () => readTokenResponse(body, OLD_REFRESH, 1800);
    expect(read).toThrow(ProtocolError);
    expect(read).toThrow(problem);
    try {
      read();
    } catch (error) {
      expect((error as ProtocolError).outcome).toBe("RefreshFailed");
      expect((error as ProtocolError).retryable).toBe(false);
      expect((error as Error).message).not.toContain(OLD_REFRESH);
    }
  });
});

describe("error answers", () => {
  const map = (status: number, json: unknown) => oauth2Error({ status, json });

  it.each([
    [400, "invalid_grant"],
    [400, "invalid_client"],
    [401, "invalid_client"],
    [400, "unauthorized_client"],
    [401, "unauthorized_client"],
  ])("HTTP %i %s is CredentialRejected, not retried", (status, code) => {
    const error = map(status, { error: code, error_description: "nope" });
    expect(error).toBeInstanceOf(PlatformError);
    expect(error).toMatchObject({ outcome: "CredentialRejected", retryable: false, httpStatus: status, errorCode: code });
    expect(error.message).toBe(`OAuth2 token endpoint answered HTTP ${status} ${code}: nope`);
  });

  it.each([
    [400, { error: "invalid_request" }, "invalid_request"],
    [400, { error: "invalid_scope" }, "invalid_scope"],
    [400, { error: "unsupported_grant_type" }, "unsupported_grant_type"],
    [403, { error: "access_denied" }, "access_denied"],
    [403, { error: "invalid_grant" }, "invalid_grant"],
    [404, undefined, undefined],
    [401, undefined, undefined],
    [302, undefined, undefined],
  ])("HTTP %i %j is RefreshFailed with the code, not retried", (status, json, code) => {
    expect(map(status, json)).toMatchObject({ outcome: "RefreshFailed", retryable: false, httpStatus: status, errorCode: code });
  });

  it.each([
    [500, { error: "server_error" }],
    [502, undefined],
    [503, { error: "temporarily_unavailable" }],
    [429, { error: "slow_down" }],
    [400, { error: "temporarily_unavailable" }],
  ])("HTTP %i %j is retryable", (status, json) => {
    expect(map(status, json)).toMatchObject({ outcome: "RefreshFailed", retryable: true, httpStatus: status });
  });

  it("truncates the description, flattens control characters and redacts secrets it quotes", () => {
    const error = oauth2Error(
      { status: 400, json: { error: "invalid_grant", error_description: `token ${OLD_REFRESH} bad\r\n${"x".repeat(500)}` } },
      new Redactor().add(OLD_REFRESH, "client-secret"),
    );
    expect(error.message).toMatch(/^OAuth2 token endpoint answered HTTP 400 invalid_grant: token \[redacted\] bad x+…$/);
    expect(error.message.length).toBeLessThan(300);
    expect(error.message).not.toContain(OLD_REFRESH);
  });

  it("does not quote an error code that is not an RFC 6749 code", () => {
    const error = map(400, { error: `bad"code\n${"y".repeat(100)}`, error_description: 7 });
    expect(error.errorCode).toBeUndefined();
    expect(error.message).toBe("OAuth2 token endpoint answered HTTP 400");
  });
});

describe("token endpoint URL", () => {
  it.each([
    ["https://oauth.example.com", "/api/v1/oauth2/token", "https://oauth.example.com/api/v1/oauth2/token"],
    ["https://oauth.example.com", "api/v1/oauth2/token", "https://oauth.example.com/api/v1/oauth2/token"],
    ["https://gw.example.com:8443/tenant/", "/oauth/token", "https://gw.example.com:8443/tenant/oauth/token"],
    ["https://ignored.example.com", "https://login.example.net/oauth2/v2/token", "https://login.example.net/oauth2/v2/token"],
  ])("%s + %s → %s", (endpoint, path, url) => {
    expect(oauth2TokenUrl(endpoint, path)).toBe(url);
  });

  it.each([
    ["http://login.example.net/token", 'must be a path starting with "/" or an https URL'],
    ["https://user:pw@login.example.net/token", "must not contain credentials"],
    ["https://[bad/token", "does not make a valid URL with the endpoint"],
  ])("rejects %s", (path, problem) => {
    const values = { dialect: "oauth2", endpointUrl: "https://oauth.example.com", oauth2TokenPath: path };
    expect(settingProblems(values)).toEqual([{ field: "oauth2TokenPath", problem }]);
    expect(() => credentialSpec({ ...values, name: "n", clientSecretId: "c", tokenSecretId: "t" })).toThrow(ConfigError);
  });
});

describe("dialect creation", () => {
  it("validates the client secret fields by name", () => {
    expect(() => createOAuth2Dialect(OAUTH2, { clientSecret: "s" }, 1000)).toThrow(new SecretFormatError("client secret", "clientId", "is required and must be a non-empty string"));
    expect(() => createOAuth2Dialect(OAUTH2, { clientId: "c", clientSecret: 5 }, 1000)).toThrow("client secret: clientSecret must be a string, got number");
    expect(() => createOAuth2Dialect(OAUTH2, { clientId: "c", clientSecret: "s", caCertificate: "not pem" }, 1000)).toThrow("caCertificate must be PEM");
  });

  it("TOKEN_DIALECT=oauth2 selects it; it has no bootstrap", async () => {
    const config = loadConfig({
      TOKEN_DIALECT: "oauth2",
      CREDENTIAL_NAME: "huawei-cloud",
      CLIENT_SECRET_ID: "client",
      TOKEN_SECRET_ID: "token",
      STATE_TABLE_NAME: "state",
      ENDPOINT_URL: "https://oauth.example.com",
    });
    const dialect = createDialect(config.credential, { clientId: "c", clientSecret: "s" }, config.runtime);
    expect(dialect.bootstrap).toBeUndefined();
    expect(typeof dialect.refresh).toBe("function");
    await dialect.close();
  });
});
