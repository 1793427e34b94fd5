// The typed platform clients the package exports (token-refresher/iot, token-refresher/oauth2),
// used directly against the IoT simulator over mutual TLS and a real oidc-provider.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, IOT_ERROR_CODES, IotAuthClient, NetworkError, PlatformError, SecretFormatError, type IotAuthResult } from "../../lambda/iot/index.js";
import { OAuth2TokenClient } from "../../lambda/oauth2/index.js";
import { startAuthServer, type AuthServer } from "../oauth2/auth-server.js";
import { startIotPlatform, type IotPlatform } from "../../bin/local/iot-platform.js";
import { uniqueName } from "../support/aws.js";
import { testPki } from "../support/iot-fixture.js";
import { leakedSecrets, registerSensitive } from "../support/leak-guard.js";
import type { TestPki } from "../../bin/local/pki.js";

const APP_ID = uniqueName("typed-app");
const SECRET = `typed-secret-${uniqueName("s")}`;
const CLIENT_ID = uniqueName("typed-client");
const CLIENT_SECRET = `typed-cs-${uniqueName("c")}`;
registerSensitive(SECRET, CLIENT_SECRET);

let pki: TestPki;
let platform: IotPlatform;
let server: AuthServer;
const clients: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  pki = await testPki();
  registerSensitive(pki.client.keyPem);
  platform = await startIotPlatform({ pki, appId: APP_ID, secret: SECRET, rateLimit: false });
  server = await startAuthServer({ pki, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
});

afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
  await platform.close();
  await server.close();
});

function iotClient(overrides: Partial<ConstructorParameters<typeof IotAuthClient>[0]> = {}): IotAuthClient {
  const client = new IotAuthClient({
    endpointUrl: platform.baseUrl,
    appId: APP_ID,
    secret: SECRET,
    caCertificate: pki.caPem,
    clientCertificate: pki.client.certPem,
    clientKey: pki.client.keyPem,
    ...overrides,
  });
  clients.push(client);
  return client;
}

function oauth2Client(overrides: Partial<ConstructorParameters<typeof OAuth2TokenClient>[0]> = {}): OAuth2TokenClient {
  const client = new OAuth2TokenClient({
    tokenUrl: `${server.baseUrl}${server.tokenPath}`,
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    caCertificate: pki.caPem,
    ...overrides,
  });
  clients.push(client);
  return client;
}

/** The error a call rejects with. */
async function failure(call: Promise<unknown>): Promise<Error> {
  const error: unknown = await call.then(
    () => new Error("the call succeeded"),
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(Error);
  return error as Error;
}

const remember = (result: IotAuthResult) => registerSensitive(result.accessToken, result.refreshToken);

describe("IotAuthClient", () => {
  it("login() answers the platform's AuthOutDTO fields, and the access token is the platform's current one", async () => {
    const result = await iotClient().login();
    remember(result);
    expect(Object.keys(result).sort()).toEqual(["accessToken", "expiresIn", "refreshToken", "scope", "tokenType"]);
    expect(result).toMatchObject({ expiresIn: 3600, scope: "default", tokenType: "bearer" });
    expect(result.refreshToken).not.toBe(result.accessToken);
    expect(platform.isValidAccessToken(result.accessToken)).toBe(true);
  });

  it("refreshToken(refreshToken) answers a new pair; the used refresh token then fails with 401/100208", async () => {
    const client = iotClient();
    const first = await client.login();
    const second = await client.refreshToken(first.refreshToken);
    remember(first);
    remember(second);
    expect(second.refreshToken).not.toBe(first.refreshToken);
    expect(platform.isValidAccessToken(second.accessToken)).toBe(true);
    const error = await failure(client.refreshToken(first.refreshToken));
    expect(error).toBeInstanceOf(PlatformError);
    expect(error).toMatchObject({ httpStatus: 401, errorCode: IOT_ERROR_CODES.credentialsRejected, outcome: "CredentialRejected", retryable: false });
    expect(leakedSecrets(error.message)).toEqual([]);
  });

  it.each([
    ["frozen", 400, IOT_ERROR_CODES.appFrozen, "AppFrozen", false],
    ["throttled", 403, IOT_ERROR_CODES.throttled, "RefreshFailed", true],
    ["serverError", 500, IOT_ERROR_CODES.internalError, "RefreshFailed", true],
  ] as const)("a %s answer is a PlatformError with httpStatus %i and errorCode %s", async (kind, httpStatus, errorCode, outcome, retryable) => {
    platform.failNext(kind);
    const error = await failure(iotClient().login());
    expect(error).toBeInstanceOf(PlatformError);
    expect(error).toMatchObject({ httpStatus, errorCode, outcome, retryable });
  });

  it("a wrong secret is 401/100208", async () => {
    const error = await failure(iotClient({ secret: "not-the-secret" }).login());
    expect(error).toMatchObject({ httpStatus: 401, errorCode: IOT_ERROR_CODES.credentialsRejected });
  });

  it("verifies TLS both ways: without the platform's CA, or without a client certificate, the call fails before HTTP", async () => {
    const callsBefore = platform.calls.login;
    expect(await failure(iotClient({ caCertificate: undefined }).login())).toBeInstanceOf(NetworkError);
    expect(await failure(iotClient({ clientCertificate: undefined, clientKey: undefined }).login())).toBeInstanceOf(NetworkError);
    expect(platform.calls.login).toBe(callsBefore);
  });

  it("fromClientSecret takes the client secret's JSON object and validates it as the refresher does", async () => {
    const client = IotAuthClient.fromClientSecret(
      { appId: APP_ID, secret: SECRET, caCertificate: pki.caPem, clientCertificate: pki.client.certPem, clientKey: pki.client.keyPem },
      { endpointUrl: platform.baseUrl },
    );
    clients.push(client);
    remember(await client.login());
    expect(() => IotAuthClient.fromClientSecret({ appId: APP_ID }, { endpointUrl: platform.baseUrl })).toThrow(
      new SecretFormatError("client secret", "secret", "is required and must be a non-empty string"),
    );
  });

  it("rejects an endpoint that is not https:// and a client certificate without its key", () => {
    expect(() => iotClient({ endpointUrl: "http://localhost:8743" })).toThrow(ConfigError);
    expect(() => iotClient({ clientKey: undefined })).toThrow(SecretFormatError);
  });
});

describe("OAuth2TokenClient", () => {
  it("refresh(refreshToken) answers a token the server accepts, and a rotated refresh token", async () => {
    const seeded = await server.seedRefreshToken();
    registerSensitive(seeded);
    const result = await oauth2Client().refresh(seeded);
    registerSensitive(result.accessToken, result.refreshToken);
    expect(result).toMatchObject({ tokenType: "Bearer", expiresIn: 3600 });
    expect(result.scope).toContain("offline_access");
    expect(result.refreshToken).not.toBe(seeded);
    expect((await server.userinfo(result.accessToken)).status).toBe(200);
  });

  it("a used refresh token is invalid_grant: a PlatformError with httpStatus and errorCode", async () => {
    const seeded = await server.seedRefreshToken();
    registerSensitive(seeded);
    const client = oauth2Client();
    const first = await client.refresh(seeded);
    registerSensitive(first.accessToken, first.refreshToken);
    const error = await failure(client.refresh(seeded));
    expect(error).toBeInstanceOf(PlatformError);
    expect(error).toMatchObject({ httpStatus: 400, errorCode: "invalid_grant", outcome: "CredentialRejected", retryable: false });
    expect(leakedSecrets(error.message)).toEqual([]);
  });

  it("a wrong client secret is invalid_client", async () => {
    const seeded = await server.seedRefreshToken();
    registerSensitive(seeded);
    const error = await failure(oauth2Client({ clientSecret: "wrong-client-secret" }).refresh(seeded));
    expect(error).toMatchObject({ errorCode: "invalid_client", outcome: "CredentialRejected" });
  });

  it("fromClientSecret takes the client secret's JSON object; the token URL must be https://", () => {
    clients.push(OAuth2TokenClient.fromClientSecret({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, caCertificate: pki.caPem }, { tokenUrl: `${server.baseUrl}${server.tokenPath}` }));
    expect(() => oauth2Client({ tokenUrl: "http://127.0.0.1/token" })).toThrow(ConfigError);
    expect(() => OAuth2TokenClient.fromClientSecret({ clientSecret: CLIENT_SECRET }, { tokenUrl: `${server.baseUrl}${server.tokenPath}` })).toThrow(
      new SecretFormatError("client secret", "clientId", "is required and must be a non-empty string"),
    );
  });
});
