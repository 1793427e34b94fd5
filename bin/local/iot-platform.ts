// Simulator of the Huawei IoT northbound ("OceanConnect") authentication API, served over HTTPS with
// mutual TLS, for tests of the refresher and of token consumers.
//
// Contract (the IoT API as docs/clients.md calls it, its error codes as docs/design.md#errors lists them):
//   POST /iocm/app/sec/v1.1.0/login         application/x-www-form-urlencoded  appId, secret
//   POST /iocm/app/sec/v1.1.0/refreshToken  application/json                   {appId, secret, refreshToken}
//   → 200 {"accessToken","tokenType":"bearer","expiresIn":3600,"refreshToken","scope":"default"}
//   → errors {"error_code": "100208", "error_desc": "..."}
// plus our own protected resource GET /iocm/app/sec/v1.1.0/whoami (Authorization: Bearer, app_key).
//
// Token semantics: one current pair per app. Every successful login or refresh replaces it, so the
// previous access token and refresh token stop working at once ("only the last accessToken is
// valid"); a refresh token therefore works exactly once. Time comes from `options.now`. One server
// serves the app of `options` and any added with `addApp` (a fleet's tests), each with its own pair.
//
// This module never logs (tokens and secrets must not reach any output).
import { randomBytes } from "node:crypto";
import { createServer } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import type { TestPki } from "./pki.js";

export const LOGIN_PATH = "/iocm/app/sec/v1.1.0/login";
export const REFRESH_PATH = "/iocm/app/sec/v1.1.0/refreshToken";
export const WHOAMI_PATH = "/iocm/app/sec/v1.1.0/whoami";

/** Failures that `failNext` can inject into the next login/refresh requests. */
export type FailureKind =
  | "frozen" // 400/100247
  | "wrongSecret" // 401/100208
  | "noPermission" // 400/100449
  | "missingParam" // 400/102202
  | "invalidInput" // 400/50400
  | "throttled" // 403/1010009
  | "serverError" // 500/50252
  | "serverErrorNoBody" // 502, empty body
  | "slow" // waits delayMs, then answers normally
  | "reset" // socket destroyed before anything happens; no tokens issued
  | "malformed" // 200 {"accessToken": 42, ...}; no tokens issued
  | "notJson" // 200 text/html "<html>oops</html>"; no tokens issued
  | "missingField" // 200 valid-looking body without refreshToken; no tokens issued
  | "lostAfterRotate"; // tokens really rotated, then socket destroyed before answering

export interface IotPlatformOptions {
  pki: TestPki;
  appId: string;
  secret: string;
  /** `expiresIn` and access-token lifetime. Default 3600. */
  accessTokenTtlSeconds?: number;
  /** Refresh-token lifetime. Default 30 days. */
  refreshTokenTtlSeconds?: number;
  /** Clock in epoch ms for token expiry and throttling. Default `Date.now`. */
  now?: () => number;
  /** Default delay of the "slow" failure. Default 10 000 ms. */
  slowMs?: number;
  /** Send `expiresIn` as a numeric string ("3600") instead of a number. Default false. */
  expiresInAsString?: boolean;
  /** Limit on login+refresh calls (per server: apps added with `addApp` share it). Default 100 calls / 60 000 ms; `false` disables it. */
  rateLimit?: { maxCalls: number; windowMs: number } | false;
  /** Start with the echo switch on (see `setEchoRequests`). Default false. */
  echoRequests?: boolean;
  /**
   * Alphabet of issued tokens: "base64url" (default) or "base64", whose `+`, `/` and `=` differ in
   * their URL-encoded and form-encoded forms (for redaction tests).
   */
  tokenAlphabet?: "base64url" | "base64";
}

export interface IssuedPair {
  accessToken: string;
  refreshToken: string;
  /** Seconds, as the API reports it. */
  expiresIn: number;
  /** Epoch ms, on the simulator's clock. */
  accessTokenExpiresAt: number;
  refreshTokenExpiresAt: number;
}

export interface CallCounters {
  /** POST login requests that reached the handler (including failed ones). */
  login: number;
  /** POST refreshToken requests that reached the handler (including failed ones). */
  refresh: number;
  /** GET whoami requests that reached the handler. */
  whoami: number;
  /** Every HTTP request that reached the handler, any path or method. */
  total: number;
  /** TLS handshakes the server refused or that failed (no/foreign client certificate, client abort). */
  tlsRejected: number;
}

/** One more app on the same server (`addApp`). */
export interface IotAppOptions {
  appId: string;
  secret: string;
  /** Default: the server's `accessTokenTtlSeconds`. */
  accessTokenTtlSeconds?: number;
}

/** An app's own view: its pair and the requests made for it. */
export interface IotApp {
  readonly appId: string;
  /** Login and refresh requests that named this app (any outcome). */
  readonly calls: Readonly<{ login: number; refresh: number }>;
  /** Refresh requests for this app that presented a refresh token already presented before: a double call. */
  readonly repeatedRefreshTokens: number;
  currentAccessToken(): string | undefined;
  currentRefreshToken(): string | undefined;
  isValidAccessToken(token: string): boolean;
  isValidRefreshToken(token: string): boolean;
  /** Performs a login server-side (no HTTP call, not counted) and returns the new current pair. */
  issuePair(): IssuedPair;
}

export interface IotPlatform {
  /** `https://localhost:PORT` — the server certificate is valid for localhost and 127.0.0.1. */
  readonly baseUrl: string;
  readonly port: number;
  /** Snapshot of the counters. */
  readonly calls: Readonly<CallCounters>;
  /** Latest issued access token (even if expired), or undefined before the first login. */
  currentAccessToken(): string | undefined;
  /** Latest issued refresh token (even if expired), or undefined before the first login. */
  currentRefreshToken(): string | undefined;
  isValidAccessToken(token: string): boolean;
  /** When the current pair was issued, in real epoch ms (Date.now, whatever `now` is): tests time what follows the answer. */
  lastIssuedAt(): number | undefined;
  isValidRefreshToken(token: string): boolean;
  /** Performs a login server-side (no HTTP call, not counted) and returns the new current pair. */
  issuePair(): IssuedPair;
  /** Zeroes the call counters (nothing else). */
  reset(): void;
  /** The next `count` login/refresh requests fail as `kind` (queued, FIFO). */
  failNext(kind: FailureKind, count?: number, options?: { delayMs?: number }): void;
  /** Number of queued failures not yet consumed. */
  pendingFailures(): number;
  /** While set, every login/refresh request (after the queued ones) fails, cycling through `kinds`; `[]` ends the outage. */
  setOutage(kinds: readonly FailureKind[]): void;
  /** While frozen, every request (login, refresh, whoami) answers 400/100247. */
  setFrozen(frozen: boolean): void;
  /** Changes the secret the platform accepts (as if rotated in the console); tokens stay valid. */
  setSecret(secret: string): void;
  setExpiresInAsString(asString: boolean): void;
  /** The `tokenType` issued pairs are answered with (default "bearer"). */
  setTokenType(tokenType: string): void;
  /**
   * While on, every request is answered 400 as a misbehaving gateway would: `error_desc` quotes the
   * request back (its fields form-encoded, the raw body, the credential headers) among terminal
   * control sequences, and `error_code` is oversized, carries control characters and the appId.
   * Nothing is rotated. For tests of the redaction step (docs/security.md, "Beyond IAM").
   */
  setEchoRequests(on: boolean): void;
  /** Serves another app (its own secret, pair and counters) on this server. */
  addApp(app: IotAppOptions): IotApp;
  /** Stops listening, destroys open connections, abandons slow requests; idempotent. */
  close(): Promise<void>;
}

/** One app's state on the server. */
interface AppState {
  readonly appId: string;
  secret: string;
  readonly accessTtlS: number;
  current: CurrentPair | undefined;
  lastIssuedAt: number | undefined;
  readonly calls: { login: number; refresh: number };
  readonly presentedRefreshTokens: Set<string>;
  repeatedRefreshTokens: number;
}

interface CurrentPair {
  accessToken: string;
  refreshToken: string;
  accessTokenExpiresAt: number;
  refreshTokenExpiresAt: number;
}

interface PlatformError {
  status: number;
  code: string;
  desc: string;
}

const ERRORS = {
  frozen: { status: 400, code: "100247", desc: "Operation not allowed. The application has been frozen." },
  noPermission: { status: 400, code: "100449", desc: "The device is freezed cant operate." },
  missingParam: { status: 400, code: "102202", desc: "Required Parameter is null or empty." },
  invalidInput: { status: 400, code: "50400", desc: "The input is invalid." },
  wrongSecret: { status: 401, code: "100208", desc: "AppId or secret is not right." },
  badRefreshToken: { status: 401, code: "100208", desc: "Incorrect appId, secret, or refreshToken." },
  throttled: { status: 403, code: "1010009", desc: "Too many requests. The app has exceeded its API call limit." },
  serverError: { status: 500, code: "50252", desc: "Internal server error." },
  invalidAccessToken: { status: 401, code: "1010005", desc: "Invalid access token" },
} as const satisfies Record<string, PlatformError>;

const DEFAULT_ACCESS_TTL_S = 3600;
const DEFAULT_REFRESH_TTL_S = 30 * 24 * 3600;
const DEFAULT_SLOW_MS = 10_000;
const DEFAULT_RATE_LIMIT = { maxCalls: 100, windowMs: 60_000 };
const MAX_BODY_BYTES = 16 * 1024;
const MAX_FIELD_LENGTH = 256; // String(256) in the API reference

type Endpoint = "login" | "refresh" | "whoami";
const ROUTES: Readonly<Record<string, { endpoint: Endpoint; method: string }>> = {
  [LOGIN_PATH]: { endpoint: "login", method: "POST" },
  [REFRESH_PATH]: { endpoint: "refresh", method: "POST" },
  [WHOAMI_PATH]: { endpoint: "whoami", method: "GET" },
};

interface QueuedFailure {
  kind: FailureKind;
  delayMs: number | undefined;
}

type AuthResult = { ok: true; app: AppState; pair: CurrentPair } | { ok: false; error: PlatformError };

/** The echo switch's answer: everything the request carried, quoted back with terminal control sequences. */
function echoError(req: IncomingMessage, body: string): PlatformError {
  const fields: Record<string, string> = {};
  if (mediaType(req) === "application/json") {
    try {
      const json: unknown = JSON.parse(body);
      if (typeof json === "object" && json !== null) {
        for (const [name, value] of Object.entries(json)) if (typeof value === "string") fields[name] = value;
      }
    } catch {
      // Not JSON: the raw body is quoted anyway.
    }
  } else {
    for (const [name, value] of new URLSearchParams(body)) fields[name] = value;
  }
  const headers = ["authorization", "app_key"].flatMap((name) => (req.headers[name] ? [`${name}: ${String(req.headers[name])}`] : []));
  return {
    status: 400,
    code: `\u001b[31m${"9".repeat(120)}${fields.appId ?? ""}\u0007<b>`,
    desc:
      `\u001b]0;echo\u0007\u001b[2J\u001b[1;31mrejected\u001b[0m ${new URLSearchParams(fields).toString()}\r\n` +
      `\u009b31mraw body: ${body}\u202e ${headers.join("; ")}\u0000 url-encoded: ` +
      Object.entries(fields)
        .map(([name, value]) => `${name}=${encodeURIComponent(value)}`)
        .join(" "),
  };
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${name} must be a positive number`);
  return value;
}

function mediaType(req: IncomingMessage): string {
  return (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "Content-Type": "application/json;charset=UTF-8",
    "Content-Length": Buffer.byteLength(text),
  });
  res.end(text);
}

function sendError(res: ServerResponse, error: PlatformError): void {
  sendJson(res, error.status, { error_code: error.code, error_desc: error.desc });
}

function sendText(res: ServerResponse, status: number, text: string, contentType: string, headers = {}): void {
  res.writeHead(status, { ...headers, "Content-Type": contentType, "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}

const TOO_LARGE = Symbol("tooLarge");

/** Reads the request body; undefined if the client went away, TOO_LARGE past MAX_BODY_BYTES. */
async function readBody(req: IncomingMessage): Promise<string | typeof TOO_LARGE | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    }
  } catch {
    return undefined;
  }
  return size > MAX_BODY_BYTES ? TOO_LARGE : Buffer.concat(chunks).toString("utf8");
}

/** Extracts mandatory string fields; 102202 when missing/empty, 50400 when of the wrong type/size. */
function mandatoryFields<K extends string>(
  get: (name: K) => unknown,
  names: readonly K[],
): { fields: Record<K, string> } | { error: PlatformError } {
  const fields = {} as Record<K, string>;
  for (const name of names) {
    const value = get(name);
    if (value === undefined || value === null || value === "") return { error: ERRORS.missingParam };
    if (typeof value !== "string" || value.length > MAX_FIELD_LENGTH) return { error: ERRORS.invalidInput };
    fields[name] = value;
  }
  return { fields };
}

export async function startIotPlatform(options: IotPlatformOptions): Promise<IotPlatform> {
  const now = options.now ?? Date.now;
  const accessTtlS = positive("accessTokenTtlSeconds", options.accessTokenTtlSeconds ?? DEFAULT_ACCESS_TTL_S);
  const refreshTtlS = positive("refreshTokenTtlSeconds", options.refreshTokenTtlSeconds ?? DEFAULT_REFRESH_TTL_S);
  const slowMs = options.slowMs ?? DEFAULT_SLOW_MS;
  const rateLimit = options.rateLimit === false ? undefined : (options.rateLimit ?? DEFAULT_RATE_LIMIT);
  let expiresInAsString = options.expiresInAsString ?? false;
  let tokenType = "bearer";
  let frozen = false;
  let echoRequests = options.echoRequests ?? false;
  const tokenAlphabet = options.tokenAlphabet ?? "base64url";
  const newToken = (): string => randomBytes(32).toString(tokenAlphabet);

  const apps = new Map<string, AppState>();
  const newApp = (app: IotAppOptions): AppState => {
    if (apps.has(app.appId)) throw new Error(`app ${app.appId} is already served`);
    const state: AppState = {
      appId: app.appId,
      secret: app.secret,
      accessTtlS: positive("accessTokenTtlSeconds", app.accessTokenTtlSeconds ?? accessTtlS),
      current: undefined,
      lastIssuedAt: undefined,
      calls: { login: 0, refresh: 0 },
      presentedRefreshTokens: new Set(),
      repeatedRefreshTokens: 0,
    };
    apps.set(app.appId, state);
    return state;
  };
  const main = newApp({ appId: options.appId, secret: options.secret });
  const failures: QueuedFailure[] = [];
  let outage: readonly FailureKind[] = [];
  let outageCalls = 0;
  const rateWindow: number[] = []; // timestamps of admitted login/refresh calls
  const counters: CallCounters = { login: 0, refresh: 0, whoami: 0, total: 0, tlsRejected: 0 };
  const sockets = new Set<Socket>();
  const waits = new Set<AbortController>();
  let closing: Promise<void> | undefined;

  const isValidAccessToken = (app: AppState, token: string): boolean =>
    app.current !== undefined && token === app.current.accessToken && now() < app.current.accessTokenExpiresAt;
  const isValidRefreshToken = (app: AppState, token: string): boolean =>
    app.current !== undefined && token === app.current.refreshToken && now() < app.current.refreshTokenExpiresAt;

  function rotate(app: AppState): CurrentPair {
    const t = now();
    app.lastIssuedAt = Date.now();
    app.current = {
      accessToken: newToken(),
      refreshToken: newToken(),
      accessTokenExpiresAt: t + app.accessTtlS * 1000,
      refreshTokenExpiresAt: t + refreshTtlS * 1000,
    };
    return app.current;
  }

  function successBody(app: AppState, pair: { accessToken: string; refreshToken: string }): Record<string, unknown> {
    return {
      accessToken: pair.accessToken,
      tokenType,
      expiresIn: expiresInAsString ? String(app.accessTtlS) : app.accessTtlS,
      refreshToken: pair.refreshToken,
      scope: "default",
    };
  }

  /** True when the call is admitted; records it in the sliding window. */
  function admit(): boolean {
    if (!rateLimit) return true;
    const t = now();
    while (rateWindow.length > 0 && rateWindow[0]! <= t - rateLimit.windowMs) rateWindow.shift();
    if (rateWindow.length >= rateLimit.maxCalls) return false;
    rateWindow.push(t);
    return true;
  }

  /** The real login/refresh logic: validation, credentials, rotation. */
  function authenticate(endpoint: "login" | "refresh", req: IncomingMessage, body: string): AuthResult {
    if (frozen) return { ok: false, error: ERRORS.frozen };
    if (!admit()) return { ok: false, error: ERRORS.throttled };

    let parsed: { fields: Record<string, string> } | { error: PlatformError };
    if (endpoint === "login") {
      if (mediaType(req) !== "application/x-www-form-urlencoded") return { ok: false, error: ERRORS.invalidInput };
      const form = new URLSearchParams(body);
      parsed = mandatoryFields((name) => form.get(name) ?? undefined, ["appId", "secret"]);
    } else {
      if (mediaType(req) !== "application/json") return { ok: false, error: ERRORS.invalidInput };
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        return { ok: false, error: ERRORS.invalidInput };
      }
      if (typeof json !== "object" || json === null || Array.isArray(json)) {
        return { ok: false, error: ERRORS.invalidInput };
      }
      const record = json as Record<string, unknown>;
      parsed = mandatoryFields((name) => record[name], ["appId", "secret", "refreshToken"]);
    }
    if ("error" in parsed) return { ok: false, error: parsed.error };

    const { fields } = parsed;
    const app = apps.get(fields.appId!);
    if (app) app.calls[endpoint]++;
    if (app && endpoint === "refresh") {
      if (app.presentedRefreshTokens.has(fields.refreshToken!)) app.repeatedRefreshTokens++;
      else app.presentedRefreshTokens.add(fields.refreshToken!);
    }
    if (!app || fields.secret !== app.secret) return { ok: false, error: ERRORS.wrongSecret };
    if (endpoint === "refresh" && !isValidRefreshToken(app, fields.refreshToken!)) {
      return { ok: false, error: ERRORS.badRefreshToken };
    }
    return { ok: true, app, pair: rotate(app) };
  }

  /** Resolves true after `ms`, false if the client went away or the server is closing first. */
  async function wait(ms: number, res: ServerResponse): Promise<boolean> {
    const controller = new AbortController();
    const onClose = (): void => controller.abort();
    res.once("close", onClose);
    waits.add(controller);
    try {
      await sleep(ms, undefined, { signal: controller.signal });
      return true;
    } catch {
      return false;
    } finally {
      waits.delete(controller);
      res.off("close", onClose);
    }
  }

  async function handleAuth(endpoint: "login" | "refresh", req: IncomingMessage, res: ServerResponse): Promise<void> {
    const failure = failures.shift() ?? (outage.length > 0 ? { kind: outage[outageCalls++ % outage.length]!, delayMs: undefined } : undefined);
    if (failure?.kind === "reset") {
      req.socket.destroy();
      return;
    }
    const body = await readBody(req);
    if (body === undefined) return; // client went away
    if (body === TOO_LARGE) {
      sendError(res, ERRORS.invalidInput);
      return;
    }

    switch (failure?.kind) {
      case undefined:
        break;
      case "frozen":
      case "wrongSecret":
      case "noPermission":
      case "missingParam":
      case "invalidInput":
      case "throttled":
      case "serverError":
        sendError(res, ERRORS[failure.kind]);
        return;
      case "serverErrorNoBody":
        res.writeHead(502, { "Content-Length": 0 });
        res.end();
        return;
      case "malformed":
        sendJson(res, 200, { accessToken: 42, tokenType: ["bearer"], expiresIn: "soon", refreshToken: null });
        return;
      case "notJson":
        sendText(res, 200, "<html>oops</html>", "text/html;charset=UTF-8");
        return;
      case "missingField": {
        const incomplete = successBody(main, { accessToken: newToken(), refreshToken: "" });
        delete incomplete.refreshToken;
        sendJson(res, 200, incomplete);
        return;
      }
      case "slow":
        if (!(await wait(failure.delayMs ?? slowMs, res))) return;
        break;
      case "lostAfterRotate": {
        const result = authenticate(endpoint, req, body);
        if (result.ok) req.socket.destroy(); // rotated, but the answer never leaves
        else sendError(res, result.error);
        return;
      }
    }

    const result = authenticate(endpoint, req, body);
    if (result.ok) sendJson(res, 200, successBody(result.app, result.pair));
    else sendError(res, result.error);
  }

  function handleWhoami(req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    if (frozen) {
      sendError(res, ERRORS.frozen);
      return;
    }
    const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? "");
    const token = match?.[1];
    const appKey = req.headers["app_key"];
    const app = typeof appKey === "string" ? apps.get(appKey) : undefined;
    if (token === undefined || !app || !isValidAccessToken(app, token)) {
      sendError(res, ERRORS.invalidAccessToken);
      return;
    }
    sendJson(res, 200, { appId: app.appId });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    counters.total++;
    const path = new URL(req.url ?? "/", "https://localhost").pathname;
    const route = ROUTES[path];
    if (!route) {
      req.resume();
      sendText(res, 404, "Not Found", "text/plain;charset=UTF-8");
      return;
    }
    if (req.method === route.method) counters[route.endpoint]++;
    if (echoRequests) {
      const body = await readBody(req);
      if (body !== undefined) sendError(res, echoError(req, body === TOO_LARGE ? "" : body));
      return;
    }
    if (req.method !== route.method) {
      req.resume();
      sendText(res, 405, "Method Not Allowed", "text/plain;charset=UTF-8", { Allow: route.method });
      return;
    }
    if (route.endpoint === "whoami") handleWhoami(req, res);
    else await handleAuth(route.endpoint, req, res);
  }

  const server = createServer(
    {
      key: options.pki.server.keyPem,
      cert: options.pki.server.certPem,
      ca: options.pki.caPem,
      requestCert: true,
      rejectUnauthorized: true,
    },
    (req, res) => {
      handle(req, res).catch(() => {
        // A bug in the simulator: fail the request visibly rather than hang it.
        if (!res.headersSent) sendError(res, ERRORS.serverError);
        else res.destroy();
      });
    },
  );
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  server.on("tlsClientError", (_error: Error, tlsSocket: Socket) => {
    counters.tlsRejected++;
    tlsSocket.destroy();
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  return {
    baseUrl: `https://localhost:${port}`,
    port,
    get calls(): Readonly<CallCounters> {
      return Object.freeze({ ...counters });
    },
    currentAccessToken: () => main.current?.accessToken,
    currentRefreshToken: () => main.current?.refreshToken,
    isValidAccessToken: (token) => isValidAccessToken(main, token),
    lastIssuedAt: () => main.lastIssuedAt,
    isValidRefreshToken: (token) => isValidRefreshToken(main, token),
    issuePair: () => ({ ...rotate(main), expiresIn: main.accessTtlS }),
    reset(): void {
      counters.login = counters.refresh = counters.whoami = counters.total = counters.tlsRejected = 0;
    },
    failNext(kind: FailureKind, count = 1, failOptions?: { delayMs?: number }): void {
      for (let i = 0; i < count; i++) failures.push({ kind, delayMs: failOptions?.delayMs });
    },
    pendingFailures: () => failures.length,
    setOutage(kinds: readonly FailureKind[]): void {
      outage = kinds;
    },
    setFrozen(value: boolean): void {
      frozen = value;
    },
    setSecret(value: string): void {
      main.secret = value;
    },
    setTokenType(value: string): void {
      tokenType = value;
    },
    setExpiresInAsString(value: boolean): void {
      expiresInAsString = value;
    },
    setEchoRequests(on: boolean): void {
      echoRequests = on;
    },
    addApp(app: IotAppOptions): IotApp {
      const state = newApp(app);
      return {
        appId: state.appId,
        get calls() {
          return Object.freeze({ ...state.calls });
        },
        get repeatedRefreshTokens() {
          return state.repeatedRefreshTokens;
        },
        currentAccessToken: () => state.current?.accessToken,
        currentRefreshToken: () => state.current?.refreshToken,
        isValidAccessToken: (token) => isValidAccessToken(state, token),
        isValidRefreshToken: (token) => isValidRefreshToken(state, token),
        issuePair: () => ({ ...rotate(state), expiresIn: state.accessTtlS }),
      };
    },
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        for (const controller of waits) controller.abort();
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      return closing;
    },
  };
}
