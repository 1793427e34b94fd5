import type { DialectName } from "../../lambda/settings.js";
import { variableOf } from "../../lambda/config/index.js";
import { cleanText } from "../../lambda/redaction.js";
import type { RefreshResult } from "../../lambda/telemetry/telemetry.js";

/** 3725 → "1h 2m 5s"; 59 → "59s"; negative → "-" prefix. */
export function formatDuration(totalSeconds: number): string {
  const sign = totalSeconds < 0 ? "-" : "";
  let rest = Math.abs(Math.round(totalSeconds));
  const days = Math.floor(rest / 86_400);
  rest -= days * 86_400;
  const hours = Math.floor(rest / 3_600);
  rest -= hours * 3_600;
  const minutes = Math.floor(rest / 60);
  const seconds = rest - minutes * 60;
  const parts = days ? [`${days}d`, `${hours}h`] : hours ? [`${hours}h`, `${minutes}m`] : minutes ? [`${minutes}m`, `${seconds}s`] : [`${seconds}s`];
  return sign + parts.join(" ");
}

/**
 * The one-line outcome of a run, shared by `refresh`, `init` and `npm start`. Never contains a token;
 * the platform's or an exception's text passes the redaction step again (docs/security.md, "Beyond IAM").
 */
export function outcomeLine(result: RefreshResult): string {
  const parts = [`${result.outcome} (${cleanText(result.reason, 100)})`];
  if (result.ttlSeconds !== undefined) {
    parts.push(`access token valid ${formatDuration(result.ttlSeconds)}${result.expiresAt ? ` (until ${result.expiresAt})` : ""}`);
  } else if (result.outcome === "Refreshed" || result.outcome === "Skipped") {
    parts.push("no access token stored");
  }
  if (result.versionId) parts.push(`version ${result.versionId}`);
  parts.push(`${result.apiCalls} API call${result.apiCalls === 1 ? "" : "s"} in ${result.durationMs} ms`);
  let line = parts.join(", ");
  const message = cleanText(result.message);
  if (message) line += `\n  ${message}`;
  return line;
}

/** What an operator should do about a run's outcome (Huawei's recommended handling where it has one). */
export function hintFor(result: RefreshResult, dialect: DialectName): string | undefined {
  const code = result.errorCode;
  switch (result.outcome) {
    case "Refreshed":
      return undefined;
    case "Skipped":
      if (result.reason === "busy") return "another run holds the lease on the token secret; it expires on its own — run this again in a minute";
      if (result.reason === "not-due") return undefined;
      return undefined;
    case "AppFrozen":
      return 'the application is frozen (Huawei: "check whether the application is frozen due to arrears"). Settle the account / unfreeze the app in the IoT console, then run: token-refresher refresh --force';
    case "CredentialRejected":
      if (dialect === "client_credentials") {
        return "the OAuth2 server rejected the client credentials (invalid_client / unauthorized_client). Put the right clientId/clientSecret (and clientAuth, when the server wants client_secret_basic) in the client secret with: token-refresher init --client-secret-file client.json --replace, then: token-refresher refresh --force";
      }
      return dialect === "iot"
        ? 'the platform rejected appId/secret (Huawei: "check whether appId and secret are correct — new or missing characters — and whether the address is correct"). Put the right values in the client secret with: token-refresher init --client-secret-file app.json --replace, then: token-refresher refresh --force'
        : "the OAuth2 server rejected the refresh token or the client credentials (invalid_grant / invalid_client). If clientId/clientSecret are right, a person must authorize again and store the new refresh token: token-refresher init --refresh-token-file - --replace";
    case "RefreshFailed":
      break;
  }
  if (result.reason === "backoff") return "the credential keeps failing and waits between attempts; fix the cause, then run: token-refresher refresh --force";
  if (result.errorKind === "authorization") return "store the first refresh token with: token-refresher init --refresh-token-file -";
  if (result.errorKind === "secret" || result.errorKind === "config") return "fix the named field or variable (token-refresher init checks a client secret before storing it)";
  if (result.errorKind === "aws-access") return "check the AWS identity in use, its permissions on the secrets and the table, and the names and region they are looked up with";
  if (result.reason === "PromotionPendingError") return "the new pair is stored but not yet current; the next run makes it current without calling the platform — check with: token-refresher status";
  if (result.reason === "VersionBudgetError") return `the token secret's version budget for 24 hours is spent: look for other writers of the token secret (docs/runbook.md, "RefreshFailed on consecutive runs")`;
  if (code === "1010009") return "throttled: the appId exceeded 100 calls / 60 s (other clients share the limit); the next scheduled run tries again";
  if (code === "100449") return 'Huawei: "check whether the user corresponding to appId has the permission to call the API"';
  if (code === "102202" || code === "50400") return 'Huawei: "check whether the mandatory parameters in the request are set and valid" — check appId/secret in the client secret';
  if (code === "50252" || (result.httpStatus ?? 0) >= 500) {
    return 'Huawei: "an internal error occurs on the IoT platform; contact IoT platform maintenance personnel" if it persists. The next scheduled run retries';
  }
  if (result.errorKind === "unreachable") return "the platform (or AWS) was not reachable: run token-refresher check to see which step (DNS, TCP, TLS, HTTP) fails";
  if (result.httpStatus === 200) return `the platform answered 200 with a body that is not a token answer; nothing was written. Check the endpoint (${variableOf("endpointUrl")}; a proxy or login page?)`;
  return undefined;
}
