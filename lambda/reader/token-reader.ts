import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { setTimeout as sleep } from "node:timers/promises";
import { describeError } from "../errors.js";
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
   * secret again at most this often instead of on every call. Also the pause after the reader gave up
   * on a rejected token: for this long, more 401s for that token come back at once, with no read. Default 5.
   */
  readonly minRereadSeconds?: number;
  /**
   * After a 401, how long to keep polling the secret for a different token (a rotation may be
   * storing it right now) before giving up and returning the 401. Default 2000 ms.
   */
  readonly rotationWaitMs?: number;
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

/**
 * There is no usable access token: the token secret holds none yet, or an expired one, or (the
 * subclass TokenSecretReadError) it cannot be read. `secretId` names the secret as the reader was given it.
 */
export class TokenUnavailableError extends Error {
  override readonly name: string = "TokenUnavailableError";
  readonly secretId: string;

  constructor(message: string, details: { readonly secretId: string; readonly cause?: unknown }) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.secretId = details.secretId;
  }
}

/**
 * The token secret could not be read: GetSecretValue failed (no such secret or one scheduled for
 * deletion, access or its KMS key denied, throttling, no AWS credentials, the network). `cause` is the
 * AWS SDK's error, `errorName` its name (ResourceNotFoundException, AccessDeniedException, ...) and
 * `httpStatus` AWS's answer's status, when there was an answer.
 */
export class TokenSecretReadError extends TokenUnavailableError {
  override readonly name = "TokenSecretReadError";
  readonly errorName: string;
  readonly httpStatus?: number;

  constructor(secretId: string, cause: unknown) {
    super(`the token secret ${secretId} could not be read: ${describeError(cause)}`, { secretId, cause });
    this.errorName = cause instanceof Error ? cause.name : typeof cause;
    this.httpStatus = (cause as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
  }
}

/** Default of `rotationWaitMs`: a rotation stores its new pair in two Secrets Manager writes, well within it. */
export const DEFAULT_ROTATION_WAIT_MS = 2_000;
/** The poll after a 401 waits this long before its second read, then doubles the wait. */
export const FIRST_POLL_DELAY_MS = 50;

/**
 * The waits between the reads of one poll: FIRST_POLL_DELAY_MS doubling, the last one cut so that
 * they add up to `totalMs`. With the defaults: 50, 100, 200, 400, 800, 450 ms, so 7 reads in all.
 */
export function pollDelays(totalMs: number): number[] {
  const delays: number[] = [];
  let spent = 0;
  for (let delay = FIRST_POLL_DELAY_MS; spent < totalMs; delay *= 2) {
    const step = Math.min(delay, totalMs - spent);
    delays.push(step);
    spent += step;
  }
  return delays;
}

interface Cached {
  readonly token: AccessToken;
  /** Epoch ms after which the cache must not be used. */
  readonly freshUntil: number;
}

interface Inflight {
  readonly seq: number;
  readonly promise: Promise<AccessToken>;
}

/** Reads of the secret after a 401, until it holds a token other than `rejected` or the wait is over. */
interface Poll {
  readonly rejected: string;
  readonly promise: Promise<AccessToken>;
}

/** A token the reader gave up on: the secret still held it when the wait after a 401 was over. */
interface GaveUp {
  readonly token: string;
  /** Epoch ms until which more 401s for it come back at once, with no read. */
  readonly until: number;
}

/**
 * Reads the access token from the token secret for a consuming service (docs/consumers.md,
 * "Reading the token from a service (TypeScript)"): always by `VersionStage: AWSCURRENT`, cached until shortly before `expiresAt`, one
 * read in flight at a time however many callers ask.
 *
 * On an HTTP 401 from the platform it rides through a rotation: the platform keeps only the last token
 * valid, so the stored token dies the moment the platform answers the refresher, a little before the
 * refresher has stored the new pair. The reader then polls the secret (`rotationWaitMs`, reads spaced
 * by `pollDelays`) until it holds a different token and retries once with it. Concurrent callers share
 * the poll. If the secret still holds the rejected token when the wait is over, the rejection is real:
 * the 401 goes to the caller, and for `minRereadSeconds` further 401s for that token do too, at once.
 *
 * The reader never refreshes: it cannot (it has no access to the client secret). It never logs.
 *
 * What it throws names the token secret (`secretId`): TokenUnavailableError when the secret holds no
 * token or an expired one, its subclass TokenSecretReadError when the secret cannot be read (the AWS
 * SDK's error is the `cause`), SecretFormatError when the secret's JSON is malformed. The constructor
 * throws TypeError or RangeError for bad options. `withToken` and `fetch` pass on what `fn` or `fetch` throws.
 */
export class TokenReader {
  private readonly secrets: SecretsManagerClient;
  private readonly marginMs: number;
  private readonly minRereadMs: number;
  private readonly pollSchedule: readonly number[];
  private readonly now: () => number;
  private readonly fetchImpl: (input: string | URL, init: RequestInit) => Promise<Response>;
  private cached: Cached | undefined;
  private inflight: Inflight | undefined;
  private poll: Poll | undefined;
  private gaveUp: GaveUp | undefined;
  private seq = 0;
  /** The newest read that has finished; an older read finishing later must not touch the cache. */
  private settledSeq = 0;
  private secretReads = 0;

  constructor(private readonly options: TokenReaderOptions) {
    if (!options.secretId?.trim()) throw new TypeError("TokenReader: secretId is required");
    this.secrets = options.secrets ?? new SecretsManagerClient({});
    this.marginMs = Math.max(0, options.refreshMarginSeconds ?? 60) * 1000;
    this.minRereadMs = Math.max(0, options.minRereadSeconds ?? 5) * 1000;
    const rotationWaitMs = options.rotationWaitMs ?? DEFAULT_ROTATION_WAIT_MS;
    if (!Number.isFinite(rotationWaitMs) || rotationWaitMs < 0) {
      throw new RangeError(`TokenReader: rotationWaitMs must be a number of milliseconds >= 0 (got ${rotationWaitMs})`);
    }
    this.pollSchedule = pollDelays(rotationWaitMs);
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
    // While a 401 is being ridden through, the poll's answer is the one to use: no reads of our own.
    if (this.poll) return this.poll.promise;
    return this.read();
  }

  /** Drops the cached token: the next call reads the secret. */
  invalidate(): void {
    this.cached = undefined;
  }

  /**
   * Call after the platform answered 401 to `rejected`: returns a token that differs from it once
   * the secret holds one, polling for up to `rotationWaitMs`; returns `rejected` itself when the
   * secret still holds it after that (a real rejection: pass the 401 on). Concurrent callers share
   * one poll; after giving up, calls for the same token within `minRereadSeconds` return at once.
   */
  async renewAfterRejection(rejected: string): Promise<AccessToken> {
    const cached = this.cached;
    if (cached && cached.token.accessToken !== rejected && this.now() < cached.freshUntil) return cached.token;
    if (this.poll?.rejected === rejected) return this.poll.promise;
    const gaveUp = this.gaveUp;
    if (gaveUp?.token === rejected && this.now() < gaveUp.until && cached?.token.accessToken === rejected) return cached.token;
    // Never serve the rejected token from the cache again, whatever a read started earlier returns.
    if (cached?.token.accessToken === rejected) this.cached = undefined;
    const promise = this.pollForReplacement(rejected).finally(() => {
      if (this.poll === poll) this.poll = undefined;
    });
    const poll: Poll = { rejected, promise };
    this.poll = poll;
    return promise;
  }

  /**
   * Runs `fn` with the current access token; if the platform answers 401, waits for the secret to
   * hold a different token (see `renewAfterRejection`) and runs `fn` once more with it. A 401 that
   * outlasts the wait, or a second 401, is returned (or thrown) to the caller as it is.
   */
  async withToken<T>(fn: (accessToken: string) => Promise<T>, options: WithTokenOptions<T> = {}): Promise<T> {
    const isUnauthorized = options.isUnauthorized ?? defaultIsUnauthorized;
    const first = await this.getToken();
    let outcome: { readonly result: T } | { readonly error: unknown };
    try {
      outcome = { result: await fn(first.accessToken) };
    } catch (error) {
      outcome = { error };
    }
    if (isUnauthorized(outcome)) {
      const renewed = await this.renewAfterRejection(first.accessToken);
      if (renewed.accessToken !== first.accessToken) return fn(renewed.accessToken);
    }
    if ("error" in outcome) throw outcome.error;
    return outcome.result;
  }

  /**
   * `fetch` with `Authorization: Bearer <access token>`; on a 401 waits for a different token (see
   * `renewAfterRejection`) and retries once. The request body must be replayable (string, Buffer,
   * URLSearchParams, FormData, Blob), not a stream. Add the platform's other headers (IoT: `app_key`)
   * in `init.headers`.
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

  /** Reads until the secret holds a token other than `rejected`, waiting `pollSchedule` between reads. */
  private async pollForReplacement(rejected: string): Promise<AccessToken> {
    let token = await this.readOnce(++this.seq);
    for (const delay of this.pollSchedule) {
      if (token.accessToken !== rejected) break;
      await sleep(delay);
      token = await this.readOnce(++this.seq);
    }
    if (token.accessToken !== rejected) {
      this.gaveUp = undefined;
      return token;
    }
    const gaveUp: GaveUp = { token: rejected, until: this.now() + this.minRereadMs };
    this.gaveUp = gaveUp;
    // Kept only for the pause, so that calls in it go out (and get their 401) without reading.
    this.cached = { token, freshUntil: Math.min(gaveUp.until, token.expiresAt.getTime()) };
    return token;
  }

  /** One GetSecretValue by AWSCURRENT at a time; callers arriving meanwhile share it. */
  private read(): Promise<AccessToken> {
    if (this.inflight) return this.inflight.promise;
    const seq = ++this.seq;
    const promise = this.readOnce(seq).finally(() => {
      if (this.inflight?.seq === seq) this.inflight = undefined;
    });
    this.inflight = { seq, promise };
    return promise;
  }

  private async readOnce(seq: number): Promise<AccessToken> {
    this.secretReads++;
    const secretId = this.options.secretId;
    const answer = await this.secrets.send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: "AWSCURRENT" })).catch((error: unknown) => {
      throw new TokenSecretReadError(secretId, error);
    });
    const document = parseTokenDocument(answer.SecretString, secretId);
    const readAt = this.now();
    const newest = seq > this.settledSeq;
    if (newest) this.settledSeq = seq;
    if (!document.accessToken || !document.expiresAt) {
      if (newest) this.cached = undefined;
      throw new TokenUnavailableError(`token secret ${secretId} holds no access token yet: the refresher has not stored a pair (run "token-refresher init")`, { secretId });
    }
    const expiresAt = Date.parse(document.expiresAt);
    if (expiresAt <= readAt) {
      if (newest) this.cached = undefined;
      throw new TokenUnavailableError(
        `the access token in ${secretId} expired at ${document.expiresAt} (refreshed at ${document.refreshedAt ?? "unknown"}): the refresher is not keeping it fresh`,
        { secretId },
      );
    }
    const token: AccessToken = {
      accessToken: document.accessToken,
      tokenType: document.tokenType ?? "bearer",
      expiresAt: new Date(expiresAt),
      versionId: answer.VersionId ?? "",
    };
    if (newest) this.cached = this.cacheEntry(token, readAt);
    return token;
  }

  /** How long a token just read may be served from the cache. */
  private cacheEntry(token: AccessToken, readAt: number): Cached | undefined {
    // The platform rejected it and a poll is waiting for its replacement: never cache it.
    if (this.poll?.rejected === token.accessToken) return undefined;
    const expiresAt = token.expiresAt.getTime();
    // Inside the margin already (the refresher is late), or given up on after a 401: use it, but look again soon.
    const lookAgainAt = Math.min(expiresAt, readAt + this.minRereadMs);
    const rejectedBefore = this.gaveUp?.token === token.accessToken;
    return { token, freshUntil: rejectedBefore ? lookAgainAt : Math.max(expiresAt - this.marginMs, lookAgainAt) };
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
