import { variableOf } from "../../lambda/config/index.js";
import { SETTINGS, setting, type SettingField } from "../../lambda/config/table.js";
import { ConfigError, NeedsInitialRefreshTokenError, RefreshError, describeError, errorKindOf, outcomeKind, socketErrorCode, type ErrorKind } from "../../lambda/errors.js";
import { cleanText } from "../../lambda/redaction.js";
import type { RefreshResult } from "../../lambda/telemetry/telemetry.js";

/** The CLI's exit codes (documented in `token-refresher --help` and docs/cli.md, "Exit codes"). */
export const EXIT = {
  ok: 0,
  /** The refresh failed (platform error, protocol error, write conflict), or `status` found no valid token. */
  failed: 1,
  /** Usage or configuration error: bad arguments, missing variables, a missing or malformed secret, no AWS access. */
  usage: 2,
  /** The platform rejected the credential or the app is frozen: a person must act. */
  rejected: 3,
  /** The platform (or AWS) could not be reached: DNS, TCP, TLS, timeout. */
  unreachable: 4,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A failure's kind as the CLI reports it: an error's or a run's kind (lambda/errors.ts), or a bad command line. */
export type CliErrorKind = ErrorKind | "usage";

/** Each kind's exit code (docs/cli.md, "Exit codes"): the only way an exit code is chosen for a failure. */
export const EXIT_FOR_KIND: Readonly<Record<CliErrorKind, ExitCode>> = {
  usage: EXIT.usage,
  config: EXIT.usage,
  secret: EXIT.usage,
  authorization: EXIT.usage,
  "aws-access": EXIT.usage,
  rejected: EXIT.rejected,
  unreachable: EXIT.unreachable,
  failed: EXIT.failed,
};

/**
 * An expected failure: printed as `error: message` (and a hint), or with --json as the document
 * `{"error": {"kind", "message", "hint"}}`; never with a stack trace. The message passes the
 * redaction step (docs/security.md, "Beyond IAM"): it may quote an exception's text, and a terminal must
 * never receive its control characters. Hints are the CLI's own text. `details` are facts for the
 * JSON document (what a half-done command left in force).
 */
export class CliError extends Error {
  override readonly name = "CliError";
  constructor(
    message: string,
    readonly kind: CliErrorKind,
    readonly hint?: string,
    readonly details?: Readonly<Record<string, unknown>>,
  ) {
    super(cleanText(message) ?? "unknown error");
  }

  get exitCode(): ExitCode {
    return EXIT_FOR_KIND[this.kind];
  }
}

/**
 * The flags that set the settings a ConfigError names (the settings table), as a hint; and the
 * function that carries them: a fleet's settings are on its worker function.
 */
function flagHint(error: ConfigError): string | undefined {
  const fields = error.problems.flatMap(({ field }) => (field in SETTINGS ? [field as SettingField] : []));
  const flags = [...new Set(fields.map((field) => setting(field).flag))].filter(Boolean);
  const fleet = fields.some((field) => setting(field).group === "fleet");
  const fromFunction = `pass --function with the deployed ${fleet ? "fleet worker" : "refresher"} function`;
  if (flags.length > 0) return `set ${flags.length === 1 ? "it" : "them"} with ${flags.map((name) => `--${name}`).join(", ")}, or ${fromFunction}`;
  return fleet ? fromFunction : undefined;
}

/** What to do about AWS refusing the caller, by AWS error code (the kind, and so the exit code, is `aws-access` for all). */
const AWS_ACCESS_HINTS: Readonly<Record<string, string>> = {
  ResourceNotFoundException: `check the secret id or table name and the region (${variableOf("region")} / --region)`,
  AccessDeniedException: 'the AWS identity in use lacks a permission for this call (docs/cli.md, "Permissions": refresher.grantOperate(role) gives an operator\'s)',
  CredentialsProviderError: "set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY",
};
const AWS_CREDENTIALS_HINT = "log in again (aws sso login / AWS_PROFILE) or check the access keys";

/** Maps any thrown value to its kind (hence its exit code) and a one-line, secret-free message. */
export function classifyError(error: unknown): CliError {
  if (error instanceof CliError) return error;
  if (error instanceof ConfigError) return new CliError(error.message, error.kind, flagHint(error));
  if (error instanceof NeedsInitialRefreshTokenError) {
    return new CliError(error.message, error.kind, "store one with: token-refresher init --refresh-token-file -   (then paste it, Ctrl-D)");
  }
  const kind = errorKindOf(error);
  if (error instanceof RefreshError) return new CliError(error.message, kind);
  if (kind === "aws-access") {
    const code = error instanceof Error ? error.name : "";
    return new CliError(`AWS: ${describeError(error)}`, kind, AWS_ACCESS_HINTS[code] ?? AWS_CREDENTIALS_HINT);
  }
  if (kind === "unreachable") return new CliError(`AWS endpoint unreachable (${socketErrorCode(error)})`, kind, "check AWS_ENDPOINT_URL / the network path to AWS");
  return new CliError(describeError(error), kind);
}

/**
 * AWS answered the call with a refusal (HTTP 4xx): the call changed nothing. A server error, a
 * timeout or a lost answer may have been applied.
 */
export function refusedByAws(error: unknown): boolean {
  const status = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
  return status !== undefined && status >= 400 && status < 500;
}

/** Exit code of a refresh run: 0 when it refreshed or skipped, else its failure's kind's. */
export function exitCodeForResult(result: RefreshResult): ExitCode {
  if (result.outcome === "Refreshed" || result.outcome === "Skipped") return EXIT.ok;
  return EXIT_FOR_KIND[result.errorKind ?? outcomeKind(result.outcome)];
}
