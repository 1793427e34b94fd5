import { variableOf } from "../../lambda/config/index.js";
import { SETTINGS, setting, type SettingField } from "../../lambda/config/table.js";
import { ConfigError, NeedsInitialRefreshTokenError, RefreshError, SecretFormatError, describeError } from "../../lambda/errors.js";
import { cleanText } from "../../lambda/redaction.js";
import type { RefreshResult } from "../../lambda/telemetry/telemetry.js";

/** The CLI's exit codes (documented in `token-refresher --help` and the README). */
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

/**
 * An expected failure: printed as `error: message` (and a hint), never with a stack trace. The
 * message passes the redaction step (README, "Security model"): it may quote an exception's text,
 * and a terminal must never receive its control characters. Hints are the CLI's own text.
 */
export class CliError extends Error {
  override readonly name = "CliError";
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    readonly hint?: string,
  ) {
    super(cleanText(message) ?? "unknown error");
  }
}

/** The flags that set the settings a ConfigError names (the settings table), as a hint. */
function flagHint(error: ConfigError): string | undefined {
  const flags = [...new Set(error.problems.flatMap(({ field }) => (field in SETTINGS ? [setting(field as SettingField).flag] : [])))].filter(Boolean);
  return flags.length > 0 ? `set ${flags.length === 1 ? "it" : "them"} with ${flags.map((name) => `--${name}`).join(", ")}, or pass --function with the deployed refresher function` : undefined;
}

const NETWORK_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "EPIPE"]);

function errorCode(error: unknown): string | undefined {
  for (let current: unknown = error, depth = 0; current && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string") return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Maps any thrown value to an exit code and a one-line, secret-free message. */
export function classifyError(error: unknown): CliError {
  if (error instanceof CliError) return error;
  if (error instanceof ConfigError) return new CliError(error.message, EXIT.usage, flagHint(error));
  if (error instanceof SecretFormatError) return new CliError(error.message, EXIT.usage);
  if (error instanceof NeedsInitialRefreshTokenError) {
    return new CliError(error.message, EXIT.usage, "store one with: token-refresher init --refresh-token-file -   (then paste it, Ctrl-D)");
  }
  if (error instanceof RefreshError) return new CliError(error.message, error.outcome === "RefreshFailed" ? EXIT.failed : EXIT.rejected);
  const name = error instanceof Error ? error.name : "";
  const message = error instanceof Error ? error.message : String(error);
  if (name === "ResourceNotFoundException") return new CliError(`AWS: ${message}`, EXIT.usage, `check the secret id and the region (${variableOf("region")} / --region)`);
  if (name === "AccessDeniedException") return new CliError(`AWS: ${message}`, EXIT.usage, "the AWS identity in use lacks a permission on the secret (or its KMS key)");
  if (["UnrecognizedClientException", "InvalidSignatureException", "ExpiredTokenException", "InvalidClientTokenId"].includes(name)) {
    return new CliError(`AWS rejected the credentials in use (${name})`, EXIT.usage, "log in again (aws sso login / AWS_PROFILE) or check the access keys");
  }
  if (name === "CredentialsProviderError") return new CliError(`no AWS credentials found: ${message}`, EXIT.usage, "set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY");
  if (/region is missing/i.test(message)) return new CliError("the AWS region is not set", EXIT.usage, `set ${variableOf("region")} or pass --region`);
  const code = errorCode(error);
  if (code && NETWORK_CODES.has(code)) return new CliError(`AWS endpoint unreachable (${code})`, EXIT.unreachable, "check AWS_ENDPOINT_URL / the network path to AWS");
  return new CliError(describeError(error), EXIT.failed);
}

/** Exit code of a refresh run. */
export function exitCodeForResult(result: RefreshResult): ExitCode {
  switch (result.outcome) {
    case "Refreshed":
    case "Skipped":
      return EXIT.ok;
    case "CredentialRejected":
    case "AppFrozen":
      return EXIT.rejected;
    case "PairDiscarded":
      return EXIT.failed;
    case "RefreshFailed":
      if (["ConfigError", "SecretFormatError", "NeedsInitialRefreshTokenError", "ResourceNotFoundException", "AccessDeniedException"].includes(result.reason)) {
        return EXIT.usage;
      }
      if (result.reason === "NetworkError") return EXIT.unreachable;
      return EXIT.failed;
  }
}
