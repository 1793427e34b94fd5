// Exit codes come from a failure's kind — carried by the error classes and by the run result — and
// never from a class name in `reason` or from a message's text.
import { describe, expect, it } from "vitest";
import { SecretsManagerServiceException } from "@aws-sdk/client-secrets-manager";
import { CliError, EXIT, EXIT_FOR_KIND, classifyError, exitCodeForResult } from "../../bin/cli/errors.js";
import {
  ClockError,
  ConfigError,
  ERROR_KINDS,
  NeedsInitialRefreshTokenError,
  NetworkError,
  PairDiscardedError,
  PlatformError,
  PromotionPendingError,
  ProtocolError,
  RefreshError,
  SecretFormatError,
  VersionBudgetError,
  errorKindOf,
  type ErrorKind,
} from "../../lambda/errors.js";
import type { RefreshResult } from "../../lambda/telemetry/telemetry.js";

const awsError = (name: string, status: number) =>
  new SecretsManagerServiceException({ name, $fault: status < 500 ? "client" : "server", $metadata: { httpStatusCode: status }, message: `${name} (test)` });

describe("exit codes by kind", () => {
  it("maps every kind to the documented code", () => {
    expect(EXIT_FOR_KIND).toEqual({
      usage: EXIT.usage,
      config: EXIT.usage,
      secret: EXIT.usage,
      authorization: EXIT.usage,
      "aws-access": EXIT.usage,
      rejected: EXIT.rejected,
      unreachable: EXIT.unreachable,
      failed: EXIT.failed,
    });
    expect(Object.keys(EXIT_FOR_KIND).sort()).toEqual([...ERROR_KINDS, "usage"].sort());
  });

  it.for<[string, unknown, ErrorKind]>([
    ["ConfigError", new ConfigError("environment variable X is required"), "config"],
    ["SecretFormatError", new SecretFormatError("client secret", "appId", "is required"), "secret"],
    ["NeedsInitialRefreshTokenError", new NeedsInitialRefreshTokenError("no refresh token"), "authorization"],
    ["NetworkError", new NetworkError("connect ECONNREFUSED"), "unreachable"],
    ["PlatformError CredentialRejected", new PlatformError("HTTP 401", { outcome: "CredentialRejected" }), "rejected"],
    ["PlatformError AppFrozen", new PlatformError("HTTP 400 100247", { outcome: "AppFrozen" }), "rejected"],
    ["PlatformError 5xx", new PlatformError("HTTP 503", { retryable: true }), "failed"],
    ["ProtocolError", new ProtocolError("not a token answer"), "failed"],
    ["PairDiscardedError", new PairDiscardedError("not stored"), "failed"],
    ["PromotionPendingError", new PromotionPendingError("not current"), "failed"],
    ["VersionBudgetError", new VersionBudgetError("budget spent"), "failed"],
    ["ClockError", new ClockError("no Date header"), "failed"],
    ["a RefreshError that names its kind", new RefreshError("token secret x was not found", { kind: "secret" }), "secret"],
    ["AWS AccessDeniedException", awsError("AccessDeniedException", 400), "aws-access"],
    ["AWS ResourceNotFoundException", awsError("ResourceNotFoundException", 400), "aws-access"],
    ["AWS ExpiredTokenException", awsError("ExpiredTokenException", 400), "aws-access"],
    ["AWS InternalServiceError", awsError("InternalServiceError", 500), "failed"],
    ["a socket error under the SDK's", Object.assign(new Error("socket hang up"), { cause: Object.assign(new Error("connect"), { code: "ECONNREFUSED" }) }), "unreachable"],
    ["anything else", new TypeError("x is undefined"), "failed"],
  ])("%s has kind %s", ([, error, kind]) => {
    expect(errorKindOf(error)).toBe(kind);
    expect(classifyError(error)).toMatchObject({ kind, exitCode: EXIT_FOR_KIND[kind] });
  });

  it("reads no message: a message that names a variable, a region or a class changes nothing", () => {
    expect(classifyError(new Error("Region is missing")).exitCode).toBe(EXIT.failed);
    expect(classifyError(new Error("ConfigError: environment variable TOKEN_SECRET_ID is required")).exitCode).toBe(EXIT.failed);
    expect(classifyError(new CliError("anything", "unreachable")).exitCode).toBe(EXIT.unreachable);
  });
});

describe("a run's exit code", () => {
  const run = (result: Partial<RefreshResult>): RefreshResult => ({ credential: "c", outcome: "RefreshFailed", reason: "x", apiCalls: 1, durationMs: 1, ...result });

  it("is 0 for a refreshed or skipped run", () => {
    expect(exitCodeForResult(run({ outcome: "Refreshed", reason: "refreshed" }))).toBe(EXIT.ok);
    expect(exitCodeForResult(run({ outcome: "Skipped", reason: "busy" }))).toBe(EXIT.ok);
  });

  it("comes from errorKind, whatever the reason says", () => {
    expect(exitCodeForResult(run({ reason: "ConfigError", errorKind: "failed" }))).toBe(EXIT.failed);
    expect(exitCodeForResult(run({ reason: "Error", errorKind: "config" }))).toBe(EXIT.usage);
    expect(exitCodeForResult(run({ reason: "NetworkError", errorKind: "secret" }))).toBe(EXIT.usage);
    expect(exitCodeForResult(run({ reason: "TimeoutError", errorKind: "unreachable" }))).toBe(EXIT.unreachable);
    expect(exitCodeForResult(run({ outcome: "PairDiscarded", reason: "PairDiscardedError", errorKind: "failed" }))).toBe(EXIT.failed);
  });

  it("a backoff tick repeats its failure's kind; a result without one falls back to its outcome", () => {
    expect(exitCodeForResult(run({ outcome: "AppFrozen", reason: "backoff", errorKind: "rejected" }))).toBe(EXIT.rejected);
    expect(exitCodeForResult(run({ reason: "backoff", errorKind: "secret" }))).toBe(EXIT.usage);
    expect(exitCodeForResult(run({ outcome: "CredentialRejected", reason: "backoff" }))).toBe(EXIT.rejected);
    expect(exitCodeForResult(run({ reason: "SecretFormatError" }))).toBe(EXIT.failed);
  });
});
