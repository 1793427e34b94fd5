import { RefreshError } from "../errors.js";
import type { Deadline } from "./deadline.js";

export interface RetryPolicy {
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** Don't start an attempt with less time than this left in the budget. */
  readonly minAttemptMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 4, baseDelayMs: 300, maxDelayMs: 3_000, minAttemptMs: 500 };

export interface RetryEnvironment {
  readonly deadline: Deadline;
  readonly sleep: (ms: number) => Promise<void>;
  readonly random: () => number;
  readonly policy: RetryPolicy;
  /** Called before every attempt, so the run can count its API calls. */
  readonly onAttempt: () => void;
}

/**
 * Runs `attempt` until it succeeds, fails with a non-retryable error, runs out of attempts, or the
 * next backoff would leave too little of the budget. Backoff is exponential with full jitter.
 */
export async function withRetry<T>(attempt: () => Promise<T>, env: RetryEnvironment): Promise<T> {
  for (let attemptNo = 1; ; attemptNo++) {
    env.onAttempt();
    try {
      return await attempt();
    } catch (error) {
      if (!(error instanceof RefreshError) || !error.retryable) throw afterLostAttempts(error, attemptNo);
      const delay = Math.round(env.random() * Math.min(env.policy.maxDelayMs, env.policy.baseDelayMs * 2 ** (attemptNo - 1)));
      const outOfTime = env.deadline.remainingMs() < delay + env.policy.minAttemptMs;
      if (attemptNo >= env.policy.maxAttempts || outOfTime) {
        // The last error itself (its class names the failure), marked final: the run ends here.
        error.message += ` (gave up after ${attemptNo} attempt${attemptNo > 1 ? "s" : ""}${outOfTime ? ", run time budget spent" : ""})`;
        throw error;
      }
      await env.sleep(delay);
    }
  }
}

/**
 * A rejection that follows failed attempts may be caused by them: the platform can have rotated the
 * refresh token on an attempt whose answer was lost. Say so, for on-call.
 */
function afterLostAttempts(error: unknown, attemptNo: number): unknown {
  if (attemptNo === 1 || !(error instanceof RefreshError) || error.outcome !== "CredentialRejected") return error;
  error.message += ` (on attempt ${attemptNo}, after ${attemptNo - 1} failed: the platform may have rotated the refresh token on an attempt whose answer was lost; strict OAuth2 servers then revoke the grant)`;
  return error;
}
