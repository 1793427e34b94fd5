// OAuth2 breadth (docs/oauth2.md), against oidc-provider over HTTPS: client_secret_basic
// next to client_secret_post, `scope` and `audience` sent with the grant, and the client_credentials
// grant — through the typed OAuth2TokenClient and through the whole refresh workflow with the token
// secret in moto. Also the settings' parsing and the redaction of the Basic credentials.
import { request, Agent } from "undici";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../lambda/config/index.js";
import { ConfigError, PlatformError, SecretFormatError } from "../../lambda/errors.js";
import { OAuth2TokenClient, basicCredentials } from "../../lambda/oauth2/token-client.js";
import { REDACTED } from "../../lambda/redaction.js";
import { EventSink, uniqueName, versionCount } from "../support/aws.js";
import { registerSensitive } from "../support/leak-guard.js";
import { createTestPki, type TestPki } from "../../bin/local/pki.js";
import { API_SCOPES, startAuthServer, type AuthServer, type AuthServerOptions } from "./auth-server.js";
import { createCredential, expectNoSecretsLeaked, lastMetrics, type Credential, type CredentialOptions } from "./fixture.js";

let pki: TestPki;
const servers: AuthServer[] = [];
const clients: OAuth2TokenClient[] = [];

beforeAll(async () => {
  pki = await createTestPki();
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function credential(options: CredentialOptions = {}): Promise<Credential> {
  const created = await createCredential(pki, options);
  servers.push(created.server);
  return created;
}

const AUDIENCE = "https://api.example.com/devices";
const SECONDS = 1000;

/** A server with its own client, and a typed client for it; `clientSecret` may hold characters Basic must form-encode. */
async function serverAndClient(
  server: Omit<AuthServerOptions, "pki" | "clientId" | "clientSecret">,
  client: Partial<ConstructorParameters<typeof OAuth2TokenClient>[0]> = {},
  clientSecret = `cs-${uniqueName("s")}-${uniqueName("t")}`,
) {
  const clientId = uniqueName("client");
  registerSensitive(clientSecret, basicCredentials(clientId, clientSecret));
  const started = await startAuthServer({ pki, clientId, clientSecret, ...server });
  servers.push(started);
  const typed = new OAuth2TokenClient({
    tokenUrl: `${started.baseUrl}${started.tokenPath}`,
    clientId,
    clientSecret,
    caCertificate: pki.caPem,
    ...client,
  });
  clients.push(typed);
  return { server: started, client: typed, clientId, clientSecret };
}

describe("OAuth2TokenClient: client authentication", () => {
  it("client_secret_basic sends HTTP Basic and no secret in the form; the provider takes it", async () => {
    const { server, client } = await serverAndClient({ clientAuth: "client_secret_basic" }, { clientAuth: "client_secret_basic" });
    const refreshToken = await server.seedRefreshToken();
    registerSensitive(refreshToken);

    const result = await client.refresh(refreshToken);
    registerSensitive(result.accessToken, result.refreshToken);
    expect(result.refreshToken).not.toBe(refreshToken);
    expect(await server.userinfo(result.accessToken)).toMatchObject({ status: 200 });
    expect(server.grants).toEqual([{ grantType: "refresh_token", authorizationScheme: "basic", clientSecretInBody: false }]);
  });

  it("Basic credentials are the form-encoded id and secret (RFC 6749 §2.3.1): a secret with ':', '+', '&', '%', '/' and spaces works", async () => {
    const secret = `p@ss: w+rd&%/=${uniqueName("x")}`;
    const { server, client } = await serverAndClient({ clientAuth: "client_secret_basic" }, { clientAuth: "client_secret_basic" }, secret);
    const token = await client.clientCredentials();
    registerSensitive(token.accessToken);
    expect(server.grants).toEqual([expect.objectContaining({ grantType: "client_credentials", authorizationScheme: "basic" })]);
    expect(basicCredentials("a b", "c:d+e")).toBe(Buffer.from("a+b:c%3Ad%2Be").toString("base64"));
  });

  it("client_secret_post stays the default and sends the secret as form fields", async () => {
    const { server, client } = await serverAndClient({});
    const refreshToken = await server.seedRefreshToken();
    registerSensitive(refreshToken);
    registerSensitive((await client.refresh(refreshToken)).accessToken);
    expect(server.grants).toEqual([{ grantType: "refresh_token", clientSecretInBody: true }]);
  });

  it("the wrong method for the client's registration is invalid_client: CredentialRejected, in both directions", async () => {
    for (const [registered, used] of [
      ["client_secret_basic", "client_secret_post"],
      ["client_secret_post", "client_secret_basic"],
    ] as const) {
      const { client } = await serverAndClient({ clientAuth: registered }, { clientAuth: used });
      const error = await client.clientCredentials().catch((caught: unknown) => caught);
      expect(error, String(error)).toBeInstanceOf(PlatformError);
      expect(error).toMatchObject({ outcome: "CredentialRejected", errorCode: "invalid_client", httpStatus: 401 });
    }
  });
});

describe("OAuth2TokenClient: scope and audience", () => {
  it("are sent with the refresh_token grant; the provider narrows the scope as asked", async () => {
    const { server, client } = await serverAndClient({}, { scope: "openid", audience: AUDIENCE });
    const refreshToken = await server.seedRefreshToken();
    registerSensitive(refreshToken);

    const result = await client.refresh(refreshToken);
    registerSensitive(result.accessToken, result.refreshToken);
    expect(result.scope).toBe("openid");
    expect(server.grants).toEqual([{ grantType: "refresh_token", scope: "openid", audience: AUDIENCE, clientSecretInBody: true }]);
  });

  it("are sent with the client_credentials grant; the token carries the scope asked for", async () => {
    const { server, client, clientId } = await serverAndClient({}, { scope: API_SCOPES[0], audience: AUDIENCE });
    const before = Date.now();

    const result = await client.clientCredentials();
    registerSensitive(result.accessToken);
    expect(result).toMatchObject({ expiresIn: 3600, scope: API_SCOPES[0], tokenType: "Bearer" });
    expect(Object.keys(result).sort()).toEqual(["accessToken", "expiresIn", "scope", "tokenType"]);
    const issued = await server.provider.ClientCredentials.find(result.accessToken);
    expect(issued).toMatchObject({ clientId, scope: API_SCOPES[0] });
    expect(issued!.exp! * SECONDS).toBeGreaterThanOrEqual(before + 3600 * SECONDS - 2 * SECONDS);
    expect(server.grants).toEqual([{ grantType: "client_credentials", scope: API_SCOPES[0], audience: AUDIENCE, clientSecretInBody: true }]);
  });

  it("without them, neither is sent", async () => {
    const { server, client } = await serverAndClient({});
    const result = await client.clientCredentials();
    registerSensitive(result.accessToken);
    expect(result.scope).toBeUndefined();
    expect(server.grants).toEqual([{ grantType: "client_credentials", clientSecretInBody: true }]);
  });

  it("bad options are ConfigErrors naming the option; bad client secret fields are SecretFormatErrors naming the field", () => {
    const base = { tokenUrl: "https://auth.example.com/token", clientId: "client-1", clientSecret: "secret-123456" };
    const unknownMethod = { ...base, clientAuth: "private_key_jwt" } as unknown as ConstructorParameters<typeof OAuth2TokenClient>[0];
    expect(() => new OAuth2TokenClient(unknownMethod)).toThrow(ConfigError);
    expect(() => new OAuth2TokenClient(unknownMethod)).toThrow(/^clientAuth must be one of client_secret_post, client_secret_basic, got "private_key_jwt"$/);
    expect(() => new OAuth2TokenClient({ ...base, scope: 'read "all"' })).toThrow(/^scope must be at most 1024 characters of scope tokens/);
    expect(() => new OAuth2TokenClient({ ...base, scope: "read  write" })).toThrow(/^scope must be at most 1024 characters of scope tokens/);
    expect(() => new OAuth2TokenClient({ ...base, audience: "two words" })).toThrow(/^audience must be at most 1024 characters of visible ASCII without spaces$/);
    expect(() => new OAuth2TokenClient({ ...base, audience: "a".repeat(1_025) })).toThrow(/^audience must be at most 1024 characters of visible ASCII without spaces$/);

    const secret = { clientId: "client-1", clientSecret: "secret-123456" };
    const fromSecret = (fields: Record<string, unknown>) => () => OAuth2TokenClient.fromClientSecret({ ...secret, ...fields }, { tokenUrl: base.tokenUrl });
    expect(fromSecret({ clientAuth: "basic" })).toThrow(SecretFormatError);
    expect(fromSecret({ clientAuth: "basic" })).toThrow('client secret: clientAuth must be one of client_secret_post, client_secret_basic, got "basic"');
    expect(fromSecret({ scope: 42 })).toThrow("client secret: scope must be a string, got number");
    expect(fromSecret({ audience: "x y" })).toThrow("client secret: audience must be at most 1024 characters of visible ASCII without spaces");
  });

  it("the client secret's clientAuth, scope and audience override the options", async () => {
    const clientId = uniqueName("client");
    const clientSecret = `cs-${uniqueName("s")}`;
    registerSensitive(clientSecret, basicCredentials(clientId, clientSecret));
    const server = await startAuthServer({ pki, clientId, clientSecret, clientAuth: "client_secret_basic" });
    servers.push(server);
    const client = OAuth2TokenClient.fromClientSecret(
      { clientId, clientSecret, caCertificate: pki.caPem, clientAuth: "client_secret_basic", scope: API_SCOPES[1], audience: AUDIENCE },
      { tokenUrl: `${server.baseUrl}${server.tokenPath}`, clientAuth: "client_secret_post", scope: API_SCOPES[0], audience: "https://other.example.com" },
    );
    clients.push(client);
    registerSensitive((await client.clientCredentials()).accessToken);
    expect(server.grants).toEqual([{ grantType: "client_credentials", scope: API_SCOPES[1], audience: AUDIENCE, authorizationScheme: "basic", clientSecretInBody: false }]);
  });
});

describe("the client_credentials dialect through the refresh workflow", () => {
  const clientCredentials = (options: CredentialOptions = {}) =>
    credential({ tokenSecret: () => ({}), ...options, config: { dialect: "client_credentials", ...options.config } });

  it("an empty token secret gets an access token and no refresh token; while it is valid, runs make no call", async () => {
    const sink = await EventSink.create();
    const c = await clientCredentials({ eventBusName: sink.busName, config: { oauth2Scope: API_SCOPES.join(" ") } });
    const before = Date.now();

    const first = await c.run();
    expect(first).toMatchObject({ outcome: "Refreshed", reason: "logged-in", apiCalls: 1 });
    const stored = await c.current();
    expect(Object.keys(stored.json).sort()).toEqual(["accessToken", "expiresAt", "refreshedAt", "scope", "tokenType"]);
    expect(stored.json).toMatchObject({ tokenType: "Bearer", scope: API_SCOPES.join(" ") });
    expect(Date.parse(stored.json.expiresAt as string)).toBeGreaterThanOrEqual(before + 3600 * SECONDS - 2 * SECONDS);
    const issued = await c.server.provider.ClientCredentials.find(stored.json.accessToken as string);
    expect(issued?.clientId).toBe(c.clientId);
    expect(lastMetrics(c)).toMatchObject({ RefreshSucceeded: 1, RefreshFailed: 0, CredentialRejected: 0 });
    expect(lastMetrics(c).AccessTokenTtl).toBeGreaterThan(3590);

    // No refresh token, yet not due: the access token has an hour left.
    const skipped = await c.run();
    expect(skipped).toMatchObject({ outcome: "Skipped", reason: "not-due", apiCalls: 0, versionId: stored.versionId });
    expect(c.server.tokenRequests).toBe(1);
    expect((await c.current()).versionId).toBe(stored.versionId);

    const events = await sink.drain();
    expect(events.map((event) => event["detail-type"])).toEqual(["Token Refreshed"]);
    expect(events[0]!.detail).toMatchObject({ credential: c.config.credential.name, versionId: stored.versionId });
    expectNoSecretsLeaked(c, first, skipped, events);
  });

  it("a token inside the refresh window is replaced through the write protocol: one new version, the old token's grant not needed", async () => {
    const c = await clientCredentials();
    await c.run();
    const first = await c.current();
    // Five minutes left (inside the window and urgent, so no spacing holds it back).
    await c.putTokenSecret({ ...first.json, expiresAt: new Date(Date.now() + 300 * SECONDS).toISOString() });
    const versions = await versionCount(c.tokenSecretName);

    const due = await c.run();
    expect(due).toMatchObject({ outcome: "Refreshed", reason: "logged-in", apiCalls: 1 });
    const second = await c.current();
    expect(second.json.accessToken).not.toBe(first.json.accessToken);
    expect(second.json.refreshToken).toBeUndefined();
    expect(await versionCount(c.tokenSecretName)).toBe(versions + 1);
    expect(c.server.grants.map((grant) => grant.grantType)).toEqual(["client_credentials", "client_credentials"]);

    const forced = await c.run({ force: true });
    expect(forced).toMatchObject({ outcome: "Refreshed", apiCalls: 1 });
    expect((await c.current()).json.accessToken).not.toBe(second.json.accessToken);
    expectNoSecretsLeaked(c, due, forced);
  });

  it("with client_secret_basic, scope and audience from the configuration", async () => {
    const c = await clientCredentials({
      server: { clientAuth: "client_secret_basic" },
      config: { oauth2ClientAuth: "client_secret_basic", oauth2Scope: API_SCOPES[0], oauth2Audience: AUDIENCE },
    });
    registerSensitive(basicCredentials(c.clientId, c.clientSecret));
    expect(await c.run()).toMatchObject({ outcome: "Refreshed", apiCalls: 1 });
    expect((await c.current()).json.scope).toBe(API_SCOPES[0]);
    expect(c.server.grants).toEqual([{ grantType: "client_credentials", scope: API_SCOPES[0], audience: AUDIENCE, authorizationScheme: "basic", clientSecretInBody: false }]);
  });

  it("rejected client credentials are CredentialRejected; nothing is stored", async () => {
    const c = await clientCredentials({ clientSecretFields: { clientSecret: `wrong-${uniqueName("s")}` } });
    const versions = await versionCount(c.tokenSecretName);

    const result = await c.run();
    expect(result).toMatchObject({ outcome: "CredentialRejected", reason: "PlatformError", httpStatus: 401, errorCode: "invalid_client", apiCalls: 1 });
    expect(lastMetrics(c)).toMatchObject({ CredentialRejected: 1, RefreshSucceeded: 0 });
    expect(await versionCount(c.tokenSecretName)).toBe(versions);
    expect((await c.current()).json).toEqual({});
    expectNoSecretsLeaked(c, result);
  });
});

describe("the oauth2 (refresh_token) dialect with the new options", () => {
  it("client_secret_basic and scope from the client secret, audience from the configuration", async () => {
    const c = await credential({
      server: { clientAuth: "client_secret_basic" },
      clientSecretFields: { clientAuth: "client_secret_basic", scope: "openid" },
      config: { oauth2Audience: AUDIENCE },
    });
    registerSensitive(basicCredentials(c.clientId, c.clientSecret));
    expect(await c.run()).toMatchObject({ outcome: "Refreshed", reason: "refreshed", apiCalls: 1 });
    const stored = await c.current();
    expect(stored.json.scope).toBe("openid");
    expect(stored.json.refreshToken).not.toBe(c.initialRefreshToken);
    expect(c.server.grants).toEqual([{ grantType: "refresh_token", scope: "openid", audience: AUDIENCE, authorizationScheme: "basic", clientSecretInBody: false }]);
  });

  it("a pair without a refresh token is still due (a person must authorize), unlike client_credentials", async () => {
    const c = await credential({ tokenSecret: () => ({ accessToken: `at-${uniqueName("a")}`, expiresAt: new Date(Date.now() + 3_000 * SECONDS).toISOString() }) });
    const result = await c.run();
    expect(result).toMatchObject({ outcome: "RefreshFailed", reason: "NeedsInitialRefreshTokenError", apiCalls: 0 });
    expect(c.server.tokenRequests).toBe(0);
  });
});

describe("redaction of the Basic credentials", () => {
  it("a server that echoes the Authorization header: the run's message, metrics and result carry neither it nor the secret", async () => {
    const c = await credential({ server: { clientAuth: "client_secret_basic" }, config: { oauth2ClientAuth: "client_secret_basic" } });
    const basic = basicCredentials(c.clientId, c.clientSecret);
    registerSensitive(basic);
    c.secrets.add(basic);
    c.server.echoRequests(true);

    // The echo really quotes the header (so the check below is not vacuous).
    const agent = new Agent({ connect: { ca: pki.caPem } });
    try {
      const answer = await request(`${c.server.baseUrl}${c.server.tokenPath}`, {
        method: "POST",
        dispatcher: agent,
        headers: { "content-type": "application/x-www-form-urlencoded", authorization: `Basic ${basic}` },
        body: "grant_type=client_credentials",
      });
      const json = (await answer.body.json()) as { error_description: string };
      expect(json.error_description).toContain(`Basic ${basic}`);
    } finally {
      await agent.close();
    }

    const result = await c.run();
    expect(result).toMatchObject({ outcome: "RefreshFailed", httpStatus: 400, errorCode: "invalid_request" });
    expect(result.message).toContain(`Basic ${REDACTED} (authorization)`);
    expect(result.message).not.toContain(basic);
    expectNoSecretsLeaked(c, result);
  });
});

describe("configuration from the environment", () => {
  const env = { CREDENTIAL_NAME: "c", CLIENT_SECRET_ID: "cs", TOKEN_SECRET_ID: "ts", STATE_TABLE_NAME: "state", ENDPOINT_URL: "https://auth.example.com" };

  it("reads TOKEN_DIALECT=client_credentials, OAUTH2_CLIENT_AUTH, OAUTH2_SCOPE and OAUTH2_AUDIENCE", () => {
    const config = loadConfig({
      ...env,
      TOKEN_DIALECT: "client_credentials",
      OAUTH2_CLIENT_AUTH: "client_secret_basic",
      OAUTH2_SCOPE: " devices:read devices:write ",
      OAUTH2_AUDIENCE: AUDIENCE,
    });
    expect(config.credential).toMatchObject({ dialect: "client_credentials", oauth2ClientAuth: "client_secret_basic", oauth2Scope: "devices:read devices:write", oauth2Audience: AUDIENCE });
    const defaults = loadConfig({ ...env, TOKEN_DIALECT: "oauth2", OAUTH2_SCOPE: "", OAUTH2_AUDIENCE: " " }).credential;
    expect(defaults).not.toHaveProperty("oauth2ClientAuth");
    expect(defaults).not.toHaveProperty("oauth2Scope");
    expect(defaults).not.toHaveProperty("oauth2Audience");
  });

  it("rejects bad values with a ConfigError naming the variable; the token path is checked for client_credentials too", () => {
    expect(() => loadConfig({ ...env, TOKEN_DIALECT: "oauth2", OAUTH2_CLIENT_AUTH: "basic" })).toThrow(
      'environment variable OAUTH2_CLIENT_AUTH must be one of client_secret_post, client_secret_basic, got "basic"',
    );
    expect(() => loadConfig({ ...env, TOKEN_DIALECT: "oauth2", OAUTH2_SCOPE: 'a\\b' })).toThrow(/^environment variable OAUTH2_SCOPE must be at most 1024 characters of scope tokens/);
    expect(() => loadConfig({ ...env, TOKEN_DIALECT: "oauth2", OAUTH2_AUDIENCE: "a b" })).toThrow('environment variable OAUTH2_AUDIENCE must be at most 1024 characters of visible ASCII without spaces, got "a b"');
    // Set for a dialect that does not use it: a leftover of another credential's shell.
    expect(() => loadConfig({ ...env, OAUTH2_SCOPE: "read" })).toThrow("environment variable OAUTH2_SCOPE is only used by the oauth2 and client_credentials dialects (dialect is iot)");
    expect(() => loadConfig({ ...env, TOKEN_DIALECT: "client_credentials", OAUTH2_TOKEN_PATH: "http://auth.example.com/token" })).toThrow(ConfigError);
  });
});
