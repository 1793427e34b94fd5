import { ClockError } from "./errors.js";

/** Clients whose middleware stack can take the clock's observer (every AWS SDK v3 client). */
interface MiddlewareClient {
  readonly middlewareStack: {
    add(middleware: unknown, options: { step: "deserialize"; name: string; override?: boolean }): void;
  };
}

type Next = (args: unknown) => Promise<{ response?: unknown }>;

/** The `Date` header's resolution: times from {@link AwsClock} are good to about this. */
export const AWS_CLOCK_RESOLUTION_MS = 1_000;

/**
 * Time as AWS sees it: the host's clock corrected by the `Date` header of AWS answers, so lease
 * expiry and `expiresAt` never depend on a host's clock (see docs/protocol.md, "Time").
 *
 * `Date` has whole-second resolution: an answer sent at local time `sentAt` and received at
 * `receivedAt` with `Date: D` bounds the offset to [D - receivedAt, D + 1 s - sentAt]. Each answer
 * narrows the interval; the estimate is its middle. Bounds that contradict each other mean a
 * clock jumped, and the latest answer starts a new interval.
 */
export class AwsClock {
  private low: number | undefined;
  private high: number | undefined;

  constructor(private readonly localNow: () => number = Date.now) {}

  /** Records one answer's `Date` header for a request sent at local `sentAt`, answered at `receivedAt`. Ignores what does not parse. */
  observe(dateHeader: string | undefined, sentAt: number, receivedAt: number = this.localNow()): void {
    const serverTime = dateHeader === undefined ? Number.NaN : Date.parse(dateHeader);
    if (Number.isNaN(serverTime)) return;
    const low = serverTime - receivedAt;
    const high = serverTime + AWS_CLOCK_RESOLUTION_MS - sentAt;
    if (this.low === undefined || this.high === undefined || low > this.high || high < this.low) {
      [this.low, this.high] = [low, high];
    } else {
      [this.low, this.high] = [Math.max(this.low, low), Math.min(this.high, high)];
    }
  }

  /** How far the host's clock is behind AWS's (negative: ahead); undefined before any answer. */
  get offset(): number | undefined {
    return this.low === undefined || this.high === undefined ? undefined : Math.round((this.low + this.high) / 2);
  }

  /** AWS's time now. Refuses until an AWS answer has carried a `Date` header. */
  now(): number {
    const offset = this.offset;
    if (offset === undefined) {
      throw new ClockError("no AWS answer carried a Date header yet, so lease and expiry times cannot be taken from AWS's clock");
    }
    return this.localNow() + offset;
  }

  /**
   * AWS's time once an answer has set the clock, else the host's: for the first request of a
   * process, which needs a time before any answer can correct it (a fleet's scheduler and worker).
   */
  nowOrLocal(): number {
    return this.offset === undefined ? this.localNow() : this.now();
  }

  /** Adds the observer to an AWS SDK client: every answer, error answers included, corrects the clock. */
  watch<T extends MiddlewareClient>(client: T): T {
    const observeHeaders = (response: unknown, sentAt: number) => {
      const headers = (response as { headers?: Record<string, string | undefined> } | undefined)?.headers;
      this.observe(headers?.date ?? headers?.Date, sentAt);
    };
    client.middlewareStack.add(
      (next: Next) => async (args: unknown) => {
        const sentAt = this.localNow();
        try {
          const output = await next(args);
          observeHeaders(output.response, sentAt);
          return output;
        } catch (error) {
          observeHeaders((error as { $response?: unknown } | undefined)?.$response, sentAt);
          throw error;
        }
      },
      { step: "deserialize", name: "tokenRefresherAwsClock", override: true },
    );
    return client;
  }
}
