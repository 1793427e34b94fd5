import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { parseTokenDocument } from "../secrets/token-store.js";

/** The access token a consuming service uses, as stored by the refresher. Never log `accessToken`. */
export interface AccessToken {
  readonly accessToken: string;
  /** As the platform issued it (IoT: "bearer"); send it as `Authorization: Bearer <accessToken>`. */
  readonly tokenType: string;
  readonly expiresAt: Date;
  /** The token secret's version it was read from. */
  readonly versionId: string;
}

export interface TokenReaderOptions {
  /** Name or ARN of the token secret (the construct's `tokenSecret`; the reader needs `grantRead` on it only). */
  readonly secretId: string;
  /** Defaults to `new SecretsManagerClient({})` (region and credentials from the environment). */
  readonly secrets?: SecretsManagerClient;
  /** Stop using a cached token this many seconds before its `expiresAt` and read the secret again. Default 60. */
  readonly refreshMarginSeconds?: number;
  /**
   * When the stored token is already inside the margin (the refresher is late or failing), read the
   * secret again at most this often instead of on every call. Also bounds re-reads after a 401. Default 5.
   */
  readonly minRereadSeconds?: number;
  /** `fetch` used by `reader.fetch`; defaults to the global one. Pass one with your TLS agent if the API needs it. */
  readonly fetch?: (input: string | URL, init: RequestInit) => Promise<Response>;
  /** Clock, epoch ms (tests). */
  readonly now?: () => number;
}

export interface WithTokenOptions<T> {
  /**
   * Whether `fn`'s result or error means "HTTP 401 from the platform". Default: a result with
   * `status` or `statusCode` 401 (fetch, undici), or an error with `status`, `statusCode`,
   * `response.status` or `$metadata.httpStatusCode` 401.
   */
  readonly isUnauthorized?: (outcome: { readonly result?: T; readonly error?: unknown }) => boolean;
}

/** The token secret holds no usable access token (not initialized, expired, or unreadable). */
export class TokenUnavailableError extends Error {
  override readonly name = "TokenUnavailableError";
}

interface Cached {
  readonly token: AccessToken;
  /** Epoch ms after which the cache must not be used. */
  readonly freshUntil: number;
}

interface Inflight {
  readonly seq: number;
  readonly promise: Promise<AccessToken>;
  /** Started after a 401, so it reflects AWSCURRENT as of after that rejection. */
  readonly afterRejection: boolean;
}

interface Reread {
  readonly rejected: string;
  readonly at: number;
  readonly result: Promise<AccessToken>;
}

/**
 * Reads the access token from the token secret for a consuming service (spec: "Consumers"):
 * always by `VersionStage: AWSCURRENT`, cached until shortly before `expiresAt`, one read in flight
 * at a time however many callers ask, and on an HTTP 401 from the platform one re-read and one
 * retry — the platform keeps only the last token valid, so a 401 usually means it was just replaced.
 *
 * The reader never refreshes: it cannot (it has no access to the client secret). It never logs.
 */
export class TokenReader {
  private readonly secrets: SecretsManagerClient;
  private readonly marginMs: number;
  private readonly minRereadMs: number;
  private readonly now: () => number;
  private readonly fetchImpl: (input: string | URL, init: RequestInit) => Promise<Response>;
  private cached?: Cached;
  private inflight?: Inflight;
  private lastReread?: Reread;
  private seq = 0;
  /** The newest read that has finished; an older read finishing later must not touch the cache. */
  private settledSeq = 0;
  private secretReads = 0;

  constructor(private readonly options: TokenReaderOptions) {
    if (!options.secretId?.trim()) throw new TypeError("TokenReader: secretId is required");
    this.secrets = options.secrets ?? new SecretsManagerClient({});
    this.marginMs = Math.max(0, options.refreshMarginSeconds ?? 60) * 1000;
    this.minRereadMs = Math.max(0, options.minRereadSeconds ?? 5) * 1000;
    this.now = options.now ?? Date.now;
    this.fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
  }

  /** How many times this reader has read the secret (for metrics and tests). */
  get reads(): number {
    return this.secretReads;
  }

  /** The current access token string. Throws TokenUnavailableError when there is none that is still valid. */
  async getAccessToken(): Promise<string> {
    return (await this.getToken()).accessToken;
  }

  /** The current access token with its type, expiry and version. */
  async getToken(): Promise<AccessToken> {
    const cached = this.cached;
    if (cached && this.now() < cached.freshUntil) return cached.token;
    return this.read();
  }

  /** Drops the cached token: the next call reads the secret. */
  invalidate(): void {
    this.cached = undefined;
  }

  /**
   * Call after the platform answered 401 to `rejected`: returns a token that differs from it if the
   * secret holds one. Concurrent callers with the same rejected token share one read; repeated
   * rejections of the same token read at most once per `minRereadSeconds`.
   */
  async renewAfterRejection(rejected: string): Promise<AccessToken> {
    const cached = this.cached;
    if (cached && cached.token.accessToken !== rejected && this.now() < cached.freshUntil) return cached.token;
    const last = this.lastReread;
    if (last && last.rejected === rejected && this.now() - last.at < this.minRereadMs) return last.result;
    if (cached?.token.accessToken === rejected) this.cached = undefined;
    const result = this.read(true);
    const reread: Reread = { rejected, at: this.now(), result };
    this.lastReread = reread;
    // A failed read is not remembered: the next 401 may try again at once.
    result.catch(() => {
      if (this.lastReread === reread) this.lastReread = undefined;
    });
    return result;
  }

  /**
   * Runs `fn` with the current access token; if the platform answers 401, re-reads the secret once
   * and, when it holds a different token, runs `fn` once more with it. A second 401 is returned (or
   * thrown) to the caller as it is.
   */
  async withToken<T>(fn: (accessToken: string) => Promise<T>, options: WithTokenOptions<T> = {}): Promise<T> {
    const isUnauthorized = options.isUnauthorized ?? defaultIsUnauthorized;
    const first = await this.getToken();
    let outcome: { result?: T; error?: unknown; threw: boolean };
    try {
      outcome = { result: await fn(first.accessToken), threw: false };
    } catch (error) {
      outcome = { error, threw: true };
    }
    const unauthorized = isUnauthorized(outcome.threw ? { error: outcome.error } : { result: outcome.result });
    if (unauthorized) {
      const renewed = await this.renewAfterRejection(first.accessToken);
      if (renewed.accessToken !== first.accessToken) return fn(renewed.accessToken);
    }
    if (outcome.threw) throw outcome.error;
    return outcome.result as T;
  }

  /**
   * `fetch` with `Authorization: Bearer <access token>`; on a 401 re-reads the secret once and
   * retries once. The request body must be replayable (string, Buffer, URLSearchParams, FormData,
   * Blob), not a stream. Add the platform's other headers (IoT: `app_key`) in `init.headers`.
   */
  async fetch(input: string | URL, init: RequestInit = {}): Promise<Response> {
    const send = (accessToken: string): Promise<Response> => {
      const headers = new Headers(init.headers);
      headers.set("authorization", `Bearer ${accessToken}`);
      return this.fetchImpl(input, { ...init, headers });
    };
    const first = await this.getToken();
    const response = await send(first.accessToken);
    if (response.status !== 401) return response;
    const renewed = await this.renewAfterRejection(first.accessToken);
    if (renewed.accessToken === first.accessToken) return response;
    // The first answer is discarded: free its connection.
    await response.body?.cancel().catch(() => undefined);
    return send(renewed.accessToken);
  }

  /** One GetSecretValue by AWSCURRENT at a time; callers arriving meanwhile share it. */
  private read(afterRejection = false): Promise<AccessToken> {
    const inflight = this.inflight;
    // A read that started before a 401 may return the rejected token: after a rejection, join only a post-rejection read.
    if (inflight && (!afterRejection || inflight.afterRejection)) return inflight.promise;
    const seq = ++this.seq;
    const promise = this.readOnce(seq).finally(() => {
      if (this.inflight?.seq === seq) this.inflight = undefined;
    });
    this.inflight = { seq, promise, afterRejection };
    return promise;
  }

  private async readOnce(seq: number): Promise<AccessToken> {
    this.secretReads++;
    const answer = await this.secrets.send(new GetSecretValueCommand({ SecretId: this.options.secretId, VersionStage: "AWSCURRENT" }));
    const document = parseTokenDocument(answer.SecretString);
    const readAt = this.now();
    const newest = seq > this.settledSeq;
    if (newest) this.settledSeq = seq;
    if (!document.accessToken || !document.expiresAt) {
      if (newest) this.cached = undefined;
      throw new TokenUnavailableError(
        `token secret ${this.options.secretId} holds no access token yet: the refresher has not stored a pair (run "token-refresher init")`,
      );
    }
    const expiresAt = Date.parse(document.expiresAt);
    if (expiresAt <= readAt) {
      if (newest) this.cached = undefined;
      throw new TokenUnavailableError(
        `the access token in ${this.options.secretId} expired at ${document.expiresAt} (refreshed at ${document.refreshedAt ?? "unknown"}): the refresher is not keeping it fresh`,
      );
    }
    const token: AccessToken = {
      accessToken: document.accessToken,
      tokenType: document.tokenType ?? "bearer",
      expiresAt: new Date(expiresAt),
      versionId: answer.VersionId ?? "",
    };
    // Inside the margin already (the refresher is late): use it, but look again soon.
    const freshUntil = Math.max(expiresAt - this.marginMs, Math.min(expiresAt, readAt + this.minRereadMs));
    if (newest) this.cached = { token, freshUntil };
    return token;
  }
}

function statusOf(value: unknown): number | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const record = value as { status?: unknown; statusCode?: unknown; response?: { status?: unknown }; $metadata?: { httpStatusCode?: unknown } };
  for (const candidate of [record.status, record.statusCode, record.response?.status, record.$metadata?.httpStatusCode]) {
    if (typeof candidate === "number") return candidate;
  }
  return undefined;
}

function defaultIsUnauthorized(outcome: { readonly result?: unknown; readonly error?: unknown }): boolean {
  return statusOf("error" in outcome ? outcome.error : outcome.result) === 401;
}
