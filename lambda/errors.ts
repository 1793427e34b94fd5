import { MAX_MESSAGE_CHARS, Redactor } from "./redaction.js";

/**
 * Every failure a refresh run can meet, as small named classes. `outcome` is the metric and event
 * name on-call sees; `retryable` says whether the run may try the call again within its budget.
 * Messages never contain a token, secret or key: they name fields and codes only.
 */
export type FailureOutcome = "CredentialRejected" | "AppFrozen" | "RefreshFailed" | "PairDiscarded";

/**
 * What a failure asks of whoever reads it, so callers (the CLI's exit codes, the run result) branch
 * on it instead of on a class name or a message:
 * - `config`: a setting is missing or invalid;
 * - `secret`: a secret is missing, malformed, or holds no usable value;
 * - `authorization`: a person must authorize once (OAuth2's first refresh token);
 * - `aws-access`: AWS refused the caller or cannot be asked (credentials, permission, region, a resource that is not there);
 * - `rejected`: the platform rejected the credential, or the app is frozen: a person must act;
 * - `unreachable`: the platform or AWS could not be reached (DNS, TCP, TLS, timeout);
 * - `failed`: any other failure (platform or protocol error, write conflict); the next run may succeed.
 */
export const ERROR_KINDS = ["config", "secret", "authorization", "aws-access", "rejected", "unreachable", "failed"] as const;
export type ErrorKind = (typeof ERROR_KINDS)[number];

/** The kind a failure outcome has unless its error says otherwise: the platform's refusals ask a person to act. */
export function outcomeKind(outcome: FailureOutcome): ErrorKind {
  return outcome === "CredentialRejected" || outcome === "AppFrozen" ? "rejected" : "failed";
}

export interface RefreshErrorDetails {
  readonly outcome?: FailureOutcome;
  /** Default: `rejected` for CredentialRejected and AppFrozen, else `failed`. */
  readonly kind?: ErrorKind;
  readonly retryable?: boolean;
  readonly httpStatus?: number;
  readonly errorCode?: string;
  readonly cause?: unknown;
}

export class RefreshError extends Error {
  override readonly name: string = "RefreshError";
  readonly outcome: FailureOutcome;
  readonly kind: ErrorKind;
  readonly retryable: boolean;
  readonly httpStatus?: number;
  readonly errorCode?: string;

  constructor(message: string, details: RefreshErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.outcome = details.outcome ?? "RefreshFailed";
    this.kind = details.kind ?? outcomeKind(this.outcome);
    this.retryable = details.retryable ?? false;
    this.httpStatus = details.httpStatus;
    this.errorCode = details.errorCode;
  }
}

/** A setting is missing or invalid; `problems` names each setting by its field in the settings table (docs/configuration.md). */
export class ConfigError extends RefreshError {
  override readonly name = "ConfigError";
  override readonly kind = "config";
  constructor(
    message: string,
    readonly problems: readonly { readonly field: string; readonly problem: string }[] = [],
  ) {
    super(message);
  }

  /** The first setting at fault, when the error is about settings. */
  get setting(): string | undefined {
    return this.problems[0]?.field;
  }
}

/** A secret's content is not what the schema says; `field` names the offending field, `secretId` the secret where known. */
export class SecretFormatError extends RefreshError {
  override readonly name = "SecretFormatError";
  constructor(
    readonly secretRole: "client secret" | "token secret",
    readonly field: string,
    /** What is wrong with the field, without the secret's name (the message adds it). */
    readonly problem: string,
    readonly secretId?: string,
  ) {
    super(`${secretRole}${secretId === undefined ? "" : ` ${secretId}`}: ${field} ${problem}`, { kind: "secret" });
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
    super(message, { retryable: true, cause, kind: "unreachable" });
  }
}

/** An OAuth2 credential has no refresh token yet: a person must authorize once. */
export class NeedsInitialRefreshTokenError extends RefreshError {
  override readonly name = "NeedsInitialRefreshTokenError";
  override readonly kind = "authorization";
}

/**
 * A pair the platform issued could not be stored before the invocation's time ran short: the
 * platform may already have invalidated the stored pair. Pages (docs/runbook.md, "PairDiscarded").
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

/** AWS error codes that say the caller cannot act on AWS as it is set up (not that a call failed on the way). */
const AWS_ACCESS_ERRORS = new Set([
  "AccessDeniedException",
  "ResourceNotFoundException",
  "UnrecognizedClientException",
  "InvalidSignatureException",
  "ExpiredTokenException",
  "InvalidClientTokenId",
  "CredentialsProviderError",
]);
/** Node's socket error codes for a peer that could not be reached. */
const NETWORK_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "EPIPE"]);

/**
 * The kind of any thrown value: a RefreshError carries its own; an AWS SDK error is classed by its
 * error code (the service's `__type`, which the SDK puts in `name`) and a socket error by its `code`.
 */
export function errorKindOf(error: unknown): ErrorKind {
  if (error instanceof RefreshError) return error.kind;
  if (error instanceof Error && AWS_ACCESS_ERRORS.has(error.name)) return "aws-access";
  const code = socketErrorCode(error);
  return code !== undefined && NETWORK_CODES.has(code) ? "unreachable" : "failed";
}

/** The first `code` on the error or its causes (Node and the SDK's HTTP handler nest them). */
export function socketErrorCode(error: unknown): string | undefined {
  for (let current: unknown = error, depth = 0; current && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string") return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Short, secret-free description of any thrown value, for logs, events and CLI output: the
 * redaction step (docs/security.md, "Beyond IAM") removes the values `redactor` knows, strips control
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
