import { MAX_MESSAGE_CHARS, Redactor } from "./redaction.js";

/**
 * Every failure a refresh run can meet, as small named classes. `outcome` is the metric and event
 * name on-call sees; `retryable` says whether the run may try the call again within its budget.
 * Messages never contain a token, secret or key: they name fields and codes only.
 */
export type FailureOutcome = "CredentialRejected" | "AppFrozen" | "RefreshFailed" | "PairDiscarded";

export interface RefreshErrorDetails {
  readonly outcome?: FailureOutcome;
  readonly retryable?: boolean;
  readonly httpStatus?: number;
  readonly errorCode?: string;
  readonly cause?: unknown;
}

export class RefreshError extends Error {
  override readonly name: string = "RefreshError";
  readonly outcome: FailureOutcome;
  readonly retryable: boolean;
  readonly httpStatus?: number;
  readonly errorCode?: string;

  constructor(message: string, details: RefreshErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.outcome = details.outcome ?? "RefreshFailed";
    this.retryable = details.retryable ?? false;
    this.httpStatus = details.httpStatus;
    this.errorCode = details.errorCode;
  }
}

/** Environment configuration is missing or invalid. */
export class ConfigError extends RefreshError {
  override readonly name = "ConfigError";
}

/** A secret's content is not what the schema says; `field` names the offending field, `secretId` the secret where known. */
export class SecretFormatError extends RefreshError {
  override readonly name = "SecretFormatError";
  constructor(
    readonly secretRole: "client secret" | "token secret",
    readonly field: string,
    problem: string,
    readonly secretId?: string,
  ) {
    super(`${secretRole}${secretId === undefined ? "" : ` ${secretId}`}: ${field} ${problem}`);
  }
}

/** The platform answered with an error status (IoT `error_code` or OAuth2 `error`). */
export class PlatformError extends RefreshError {
  override readonly name = "PlatformError";
}

/** The platform answered 200 but the body is not a valid token response. Nothing is written. */
export class ProtocolError extends RefreshError {
  override readonly name = "ProtocolError";
}

/** Connect, TLS, timeout or reset: the request may or may not have reached the platform. */
export class NetworkError extends RefreshError {
  override readonly name = "NetworkError";
  constructor(message: string, cause?: unknown) {
    super(message, { retryable: true, cause });
  }
}

/** An OAuth2 credential has no refresh token yet: a person must authorize once. */
export class NeedsInitialRefreshTokenError extends RefreshError {
  override readonly name = "NeedsInitialRefreshTokenError";
}

/**
 * A pair the platform issued could not be stored before the invocation's time ran short: the
 * platform may already have invalidated the stored pair. Pages (see README, "Runbook").
 */
export class PairDiscardedError extends RefreshError {
  override readonly name = "PairDiscardedError";
  constructor(message: string, cause?: unknown) {
    super(message, { outcome: "PairDiscarded", cause });
  }
}

/** The new pair is stored but could not be made current in time; the next run promotes it without an API call. */
export class PromotionPendingError extends RefreshError {
  override readonly name = "PromotionPendingError";
  constructor(message: string, cause?: unknown) {
    super(message, { retryable: true, cause });
  }
}

/** The host's clock cannot be corrected from AWS's `Date` header, so lease times would be unreliable. */
export class ClockError extends RefreshError {
  override readonly name = "ClockError";
}

/**
 * The token secret's 24-hour version budget is spent (Secrets Manager keeps at most 100 versions
 * per secret per 24 h): calling the platform now would issue a pair that could not be stored.
 */
export class VersionBudgetError extends RefreshError {
  override readonly name = "VersionBudgetError";
}

/**
 * Short, secret-free description of any thrown value, for logs, events and CLI output: the
 * redaction step (README, "Security model") removes the values `redactor` knows, strips control
 * characters and bounds the length.
 */
export function describeError(error: unknown, redactor: Redactor = new Redactor()): string {
  let text: string;
  try {
    text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  } catch {
    text = "a thrown value that cannot be described";
  }
  return redactor.text(text, MAX_MESSAGE_CHARS) ?? "Error";
}
