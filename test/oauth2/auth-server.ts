// A real OAuth2 authorization server for the OAuth2 dialect's tests: oidc-provider (panva/node-oidc-provider)
// in-process on a loopback port over HTTPS with the test PKI's server certificate, one confidential
// client (client_secret_post unless `clientAuth` says client_secret_basic; the refresh_token and
// client_credentials grants), grants and refresh tokens seeded through the provider's own models.
//
// Variants the tests need, all done as Koa middleware around the provider (provider.use) or in its
// storage adapter, never by re-implementing the token endpoint:
// - `rotate`: oidc-provider's `rotateRefreshToken` (strict reuse detection: a consumed refresh token
//   presented again revokes the whole grant).
// - `reuseGraceSeconds`: a storage adapter that reports a consumed refresh token as unused for a few
//   seconds after its first use, i.e. the "reuse interval" / "rotation overlap" servers such as
//   Auth0 and Okta offer; within it the previous token is exchanged again for a fresh pair.
// - `omitUnchangedRefreshToken`: oidc-provider always echoes the refresh token, even when it did not
//   rotate; this drops it from the answer, as servers that don't rotate do.
// - `loseNextResponses(n)` / `failNextRequests(n, status)`: the next token requests are processed and
//   their connection destroyed before the answer is sent / answered with an HTTP error without
//   reaching the provider.
// - `clientAuth`: the client's registered method; a request made with the other one is refused.
// - `echoRequests(on)`: while on, token requests are answered 400 `invalid_request` with an
//   `error_description` that quotes the raw form-encoded request body among terminal control
//   sequences, as a misbehaving server or gateway might (tests of the redaction step), and the
//   Authorization header's value when there is one (client_secret_basic).
// - `tokenRequests` / `grants`: what reached the token endpoint and what the provider saw of each grant
//   (grant type, scope, audience, how the client authenticated), for tests of the request's shape;
//   `repeatedRefreshTokens`: refresh_token grants that presented a refresh token already presented
//   (a double call, whatever the provider answered).
import { generateKeyPairSync } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import Provider, { type Adapter, type AdapterPayload, type Configuration, type KoaContextWithOIDC } from "oidc-provider";
import { Agent, request } from "undici";
import type { TestPki } from "../../bin/local/pki.js";

export const DEFAULT_TOKEN_PATH = "/api/v1/oauth2/token";
export const ACCOUNT_ID = "device-fleet-operator";
export const SCOPE = "openid offline_access";
/** Scopes of the API the client_credentials tokens are for (oidc-provider lets a client ask for any of its provider's scopes). */
export const API_SCOPES = ["devices:read", "devices:write"] as const;

export interface AuthServerOptions {
  readonly pki: TestPki;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Path of the token endpoint (oidc-provider's `routes.token`). */
  readonly tokenPath?: string;
  /** Rotate the refresh token on every use (default true). */
  readonly rotate?: boolean;
  /** Seconds during which an already used refresh token is accepted again (default 0: strict). */
  readonly reuseGraceSeconds?: number;
  /** Leave `refresh_token` out of the answer when it did not change. */
  readonly omitUnchangedRefreshToken?: boolean;
  /** Leave `expires_in` out of the answer. */
  readonly omitExpiresIn?: boolean;
  /** Refresh token lifetime in seconds (default 86 400), said in each answer as `refresh_token_expires_in` when set. */
  readonly refreshTokenTtlSeconds?: number;
  /** Access token lifetime in seconds (default 3600; also the client_credentials tokens'). */
  readonly accessTokenTtlSeconds?: number;
  /**
   * The client's registered `token_endpoint_auth_method` (default client_secret_post). oidc-provider
   * takes either method from a client registered with one of them; this server refuses the other one
   * (401 invalid_client), as servers that support only one method do.
   */
  readonly clientAuth?: "client_secret_post" | "client_secret_basic";
}

/** One grant request as the provider parsed it. */
export interface GrantRequest {
  readonly grantType?: string;
  readonly scope?: string;
  readonly audience?: string;
  /** The Authorization header's scheme, lower-case ("basic"), when there was one. */
  readonly authorizationScheme?: string;
  /** The client secret came as a form field (client_secret_post). */
  readonly clientSecretInBody: boolean;
}

/** The body of an injected failure, made from the request's form fields. */
export type InjectedBody = (form: Record<string, string>) => unknown;

const serverError: InjectedBody = () => ({ error: "server_error", error_description: "injected failure" });

export interface TokenCallAnswer {
  readonly status: number;
  readonly json: Record<string, unknown>;
}

export interface AuthServer {
  readonly provider: Provider;
  /** `https://127.0.0.1:<port>` */
  readonly baseUrl: string;
  readonly tokenPath: string;
  /** Token requests that reached the server (including injected failures). */
  readonly tokenRequests: number;
  /** The token requests the provider processed, in order. */
  readonly grants: readonly GrantRequest[];
  /** refresh_token grants the provider processed that presented a refresh token already presented before. */
  readonly repeatedRefreshTokens: number;
  /** What the provider said about each failed grant: `error: error_detail`, e.g. "invalid_grant: refresh token already used". */
  readonly grantErrors: readonly string[];
  /** Issues a grant for ACCOUNT_ID and a refresh token for it, as an authorization code exchange would. */
  seedRefreshToken(): Promise<string>;
  /** The next `count` token requests are processed, then their connection is destroyed unanswered. */
  loseNextResponses(count: number): void;
  /** Refresh tokens the provider issued in answers that `loseNextResponses` destroyed. */
  readonly lostRefreshTokens: readonly string[];
  /** The next `count` token requests are answered `status` and `body(form)` without reaching the provider. */
  failNextRequests(count: number, status: number, body?: InjectedBody): void;
  /** While on, token requests are answered 400 with the raw request body quoted in `error_description`. */
  echoRequests(on: boolean): void;
  /** A refresh_token grant sent directly (not through the refresher). */
  refreshDirectly(refreshToken: string): Promise<TokenCallAnswer>;
  /** Calls the userinfo endpoint with the access token: 200 means the provider accepts it. */
  userinfo(accessToken: string): Promise<TokenCallAnswer>;
  close(): Promise<void>;
}

export async function startAuthServer(options: AuthServerOptions): Promise<AuthServer> {
  const tokenPath = options.tokenPath ?? DEFAULT_TOKEN_PATH;
  const clientAuth = options.clientAuth ?? "client_secret_post";
  const storage = new TestStorage((options.reuseGraceSeconds ?? 0) * 1000);
  // Listening first, so the issuer can name the port; requests are routed to the provider once it exists.
  const server: Server = createServer({ cert: options.pki.server.certPem, key: options.pki.server.keyPem });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const baseUrl = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const signingKey = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "jwk" });
  const configuration: Configuration = {
    adapter: (model: string) => storage.adapter(model),
    clients: [
      {
        client_id: options.clientId,
        client_secret: options.clientSecret,
        token_endpoint_auth_method: clientAuth,
        grant_types: ["authorization_code", "refresh_token", "client_credentials"],
        response_types: ["code"],
        redirect_uris: ["https://client.example.com/callback"],
        id_token_signed_response_alg: "ES256",
      },
    ],
    routes: { token: tokenPath },
    rotateRefreshToken: options.rotate ?? true,
    issueRefreshToken: (_ctx, client) => client.grantTypeAllowed("refresh_token"),
    findAccount: (_ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
    scopes: ["openid", "offline_access", ...API_SCOPES],
    features: { devInteractions: { enabled: false }, clientCredentials: { enabled: true } },
    jwks: { keys: [{ ...signingKey, kid: "test", alg: "ES256", use: "sig" }] },
    cookies: { keys: ["token-refresher-test-cookie-key"] },
    ttl: {
      AccessToken: options.accessTokenTtlSeconds ?? 3600,
      ClientCredentials: options.accessTokenTtlSeconds ?? 3600,
      RefreshToken: options.refreshTokenTtlSeconds ?? 86_400,
      Grant: 86_400,
      IdToken: 3600,
    },
  };
  const provider = new Provider(baseUrl, configuration);

  const state = { tokenRequests: 0, repeatedRefreshTokens: 0, lose: 0, echo: false, fail: { count: 0, status: 503, body: serverError } };
  const presentedRefreshTokens = new Set<string>();
  const lostRefreshTokens: string[] = [];
  const grantErrors: string[] = [];
  const grants: GrantRequest[] = [];
  provider.on("grant.error", (_ctx, error: Error & { error_detail?: string }) => {
    grantErrors.push(`${error.message}: ${error.error_detail ?? ""}`);
  });

  provider.use(async (ctx, next) => {
    if (ctx.method !== "POST" || ctx.path !== tokenPath) {
      await next();
      return;
    }
    state.tokenRequests++;
    if (state.echo) {
      const chunks: Buffer[] = [];
      for await (const chunk of ctx.req) chunks.push(chunk as Buffer);
      const authorization = ctx.get("authorization");
      ctx.status = 400;
      ctx.body = {
        error: "invalid_request",
        error_description: `\u001b]0;echo\u0007\u001b[2J\u001b[31mcannot parse\u001b[0m\r\n${Buffer.concat(chunks).toString("utf8")}\u202e\u0000 (request body)${authorization ? ` \u001b[1m${authorization}\u001b[0m (authorization)` : ""}`,
      };
      return;
    }
    if (state.fail.count > 0) {
      state.fail.count--;
      // The provider never sees this request, so the form is read here.
      const chunks: Buffer[] = [];
      for await (const chunk of ctx.req) chunks.push(chunk as Buffer);
      const form = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString("utf8")));
      ctx.status = state.fail.status;
      ctx.body = state.fail.body(form);
      return;
    }
    // The other method's mark (an Authorization header, or none) is refused before the provider sees the request.
    if ((ctx.get("authorization") !== "") !== (clientAuth === "client_secret_basic")) {
      ctx.status = 401;
      ctx.body = { error: "invalid_client", error_description: `client authentication must use ${clientAuth}` };
      return;
    }
    await next();
    const body = ((ctx as KoaContextWithOIDC).oidc?.body ?? {}) as Record<string, unknown>;
    const text = (value: unknown) => (typeof value === "string" ? value : undefined);
    const presented = text(body.grant_type) === "refresh_token" ? text(body.refresh_token) : undefined;
    if (presented !== undefined) {
      if (presentedRefreshTokens.has(presented)) state.repeatedRefreshTokens++;
      else presentedRefreshTokens.add(presented);
    }
    grants.push({
      grantType: text(body.grant_type),
      scope: text(body.scope),
      audience: text(body.audience),
      authorizationScheme: ctx.get("authorization").split(" ")[0]?.toLowerCase() || undefined,
      clientSecretInBody: typeof body.client_secret === "string",
    });
    if (state.lose > 0) {
      state.lose--;
      const lost = (ctx.body as Record<string, unknown> | undefined)?.refresh_token;
      if (typeof lost === "string") lostRefreshTokens.push(lost);
      // The provider has done its work (rotated, stored); the client never sees the answer.
      ctx.respond = false;
      ctx.req.socket.destroy();
      return;
    }
    if (ctx.status === 200 && typeof ctx.body === "object" && ctx.body !== null) {
      const body = ctx.body as Record<string, unknown>;
      const sent = (ctx as KoaContextWithOIDC).oidc.params?.refresh_token;
      if (options.omitUnchangedRefreshToken && body.refresh_token === sent) delete body.refresh_token;
      if (options.omitExpiresIn) delete body.expires_in;
      if (options.refreshTokenTtlSeconds !== undefined && body.refresh_token !== undefined) body.refresh_token_expires_in = options.refreshTokenTtlSeconds;
    }
  });

  const handle = provider.callback();
  server.on("request", (req: IncomingMessage, res: ServerResponse) => void handle(req, res));
  const agent = new Agent({ connect: { ca: options.pki.caPem } });
  let closed: Promise<void> | undefined;

  const post = async (path: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<TokenCallAnswer> => {
    const answer = await request(`${baseUrl}${path}`, {
      method: "POST",
      dispatcher: agent,
      headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
      body: new URLSearchParams(form).toString(),
    });
    const text = await answer.body.text();
    return { status: answer.statusCode, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  };

  return {
    provider,
    baseUrl,
    tokenPath,
    get tokenRequests() {
      return state.tokenRequests;
    },
    get repeatedRefreshTokens() {
      return state.repeatedRefreshTokens;
    },
    grantErrors,
    grants,
    lostRefreshTokens,
    async seedRefreshToken() {
      const client = await provider.Client.find(options.clientId);
      if (!client) throw new Error("test client is not registered");
      const grant = new provider.Grant({ accountId: ACCOUNT_ID, clientId: options.clientId });
      grant.addOIDCScope(SCOPE);
      const grantId = await grant.save();
      return new provider.RefreshToken({ client, accountId: ACCOUNT_ID, grantId, scope: SCOPE, gty: "authorization_code" }).save();
    },
    loseNextResponses(count) {
      state.lose = count;
    },
    failNextRequests(count, status, body = serverError) {
      state.fail = { count, status, body };
    },
    echoRequests(on) {
      state.echo = on;
    },
    refreshDirectly(refreshToken) {
      return post(tokenPath, {
        grant_type: "refresh_token",
        refresh_token: refreshToken,
        client_id: options.clientId,
        client_secret: options.clientSecret,
      });
    },
    async userinfo(accessToken) {
      const answer = await request(`${baseUrl}/me`, { dispatcher: agent, headers: { authorization: `Bearer ${accessToken}` } });
      const text = await answer.body.text();
      return { status: answer.statusCode, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
    },
    close() {
      closed ??= (async () => {
        await agent.close();
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      })();
      return closed;
    },
  };
}

/**
 * The provider's storage for one server: a Map per server (oidc-provider's bundled memory adapter
 * shares one store across providers in a process). With a grace window, a consumed refresh token
 * reads as unused until `graceMs` after its first use.
 */
class TestStorage {
  private readonly entries = new Map<string, AdapterPayload>();
  private readonly byGrant = new Map<string, Set<string>>();
  private readonly firstConsumedAt = new Map<string, number>();

  constructor(private readonly graceMs: number) {}

  adapter(model: string): Adapter {
    const key = (id: string) => `${model}:${id}`;
    const find = (id: string): AdapterPayload | undefined => {
      const payload = this.entries.get(key(id));
      if (!payload) return undefined;
      const consumedAt = this.firstConsumedAt.get(key(id));
      if (model === "RefreshToken" && payload.consumed && consumedAt !== undefined && Date.now() - consumedAt <= this.graceMs) {
        return { ...payload, consumed: undefined };
      }
      return { ...payload };
    };
    const findWhere = (predicate: (payload: AdapterPayload) => boolean) => {
      for (const [stored, payload] of this.entries) if (stored.startsWith(`${model}:`) && predicate(payload)) return { ...payload };
      return undefined;
    };
    return {
      upsert: (id, payload) => {
        this.entries.set(key(id), { ...payload });
        if (payload.grantId) {
          const members = this.byGrant.get(payload.grantId) ?? new Set<string>();
          members.add(key(id));
          this.byGrant.set(payload.grantId, members);
        }
        return Promise.resolve();
      },
      find: (id) => Promise.resolve(find(id)),
      findByUid: (uid) => Promise.resolve(findWhere((payload) => payload.uid === uid)),
      findByUserCode: (userCode) => Promise.resolve(findWhere((payload) => payload.userCode === userCode)),
      consume: (id) => {
        const payload = this.entries.get(key(id));
        if (payload) payload.consumed = Math.floor(Date.now() / 1000);
        if (!this.firstConsumedAt.has(key(id))) this.firstConsumedAt.set(key(id), Date.now());
        return Promise.resolve();
      },
      destroy: (id) => {
        this.entries.delete(key(id));
        return Promise.resolve();
      },
      revokeByGrantId: (grantId) => {
        for (const member of this.byGrant.get(grantId) ?? []) this.entries.delete(member);
        this.byGrant.delete(grantId);
        return Promise.resolve();
      },
    };
  }
}
