import { DescribeSecretCommand, type SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { AwsClock } from "../../../lambda/clock.js";
import { variableOf } from "../../../lambda/config/index.js";
import { errorKindOf } from "../../../lambda/errors.js";
import { isDue, type DecisionRules, type NextRun } from "../../../lambda/protocol/decision.js";
import { inspectCredential, type Inspection } from "../../../lambda/protocol/write-protocol.js";
import { accessTokenSecondsLeft } from "../../../lambda/secrets/token-store.js";
import { usesRefreshToken, type DialectName } from "../../../lambda/settings.js";
import { EXIT, type ExitCode } from "../errors.js";
import { formatDuration } from "../format.js";
import type { CliIo } from "../io.js";
import type { Output } from "../output.js";
import { awsClientConfig, secretsClient, someSettings, type ParsedArgs } from "../settings.js";

/** What `status` reports. By construction it holds no token value: only presence flags and times. */
export interface TokenStatus {
  readonly credential?: string;
  readonly tokenSecretArn: string;
  readonly versionId: string;
  /** valid: usable and not due; due: the next run refreshes it (the write protocol's rule); expired; empty: no pair stored. */
  readonly state: "valid" | "due" | "expired" | "empty";
  /** What the next scheduled run does, decided by the workflow's own rule (lambda/protocol/decision.ts) on AWS's clock. */
  readonly nextRun: NextRun;
  readonly accessTokenPresent: boolean;
  readonly refreshTokenPresent: boolean;
  readonly tokenType?: string;
  readonly scope?: string;
  readonly expiresAt?: string;
  readonly ttlSeconds?: number;
  readonly refreshedAt?: string;
  readonly ageSeconds?: number;
  readonly refreshWindowSeconds: number;
  readonly lease?: { readonly owner: string; readonly until: string; readonly active: boolean };
  /** A newer pair stored by a run that did not make it current (the next run that gets the lease promotes it). */
  readonly pendingVersionId?: string;
  /** From the state table, when its name and the credential's are known. */
  readonly failureStreak?: number;
  readonly nextAttemptAt?: string;
  /**
   * Set while the next run backs off. `clientSecretChecked` is false when the client secret's
   * current version could not be read (its id unset, or no DescribeSecret permission): the
   * run backs off unless that version changed since the failure.
   */
  readonly backoff?: { readonly until: string; readonly clientSecretChecked: boolean };
  readonly lastAttempt?: { readonly outcome: string; readonly reason: string; readonly at: string; readonly errorCode?: string };
  readonly paused?: { readonly since: string; readonly by: string };
  readonly refreshTokenExpiresAt?: string;
  readonly refreshTokenTtlSeconds?: number;
}

export async function statusCommand(args: ParsedArgs, io: CliIo, out: Output): Promise<ExitCode> {
  // Only what status needs, read and checked as the Lambda reads it: the token secret is the one required.
  const settings = someSettings(args.env, ["tokenSecretId", "dialect", "refreshWindowSeconds", "name", "stateTableName", "clientSecretId"], ["tokenSecretId"]);
  const tokenSecretId = settings.tokenSecretId as string;
  const rules: DecisionRules = { refreshWindowSeconds: settings.refreshWindowSeconds as number, usesRefreshToken: usesRefreshToken(settings.dialect as DialectName) };
  const credentialName = settings.name as string | undefined;
  const stateTableName = settings.stateTableName as string | undefined;
  const clientSecretId = settings.clientSecretId as string | undefined;
  // AWS's time, from the answers of the clients status reads with: a host's clock never decides.
  const clock = new AwsClock(io.now);
  const secrets = clock.watch(secretsClient(io, args.env));
  const dynamodb = clock.watch(new DynamoDBClient(awsClientConfig(args.env)));
  try {
    const clientSecret = clientSecretId === undefined ? undefined : await clientSecretVersion(secrets, clientSecretId);
    const inspection = await inspectCredential({ tokenSecretId, stateTableName, credentialName }, { secrets, dynamodb }, clock, rules, clientSecret);
    const status = describe(inspection, rules, credentialName);
    out.done(status, renderStatus(status));
    return status.state === "valid" || status.state === "due" ? EXIT.ok : EXIT.failed;
  } finally {
    if (!io.secrets) secrets.destroy();
    dynamodb.destroy();
  }
}

/**
 * The client secret's AWSCURRENT version id, from DescribeSecret: the version only, never the value.
 * Undefined when AWS refuses (an operator may lack the permission): a backoff is then reported as
 * holding unless the client secret changed.
 */
export async function clientSecretVersion(secrets: SecretsManagerClient, secretId: string): Promise<{ versionId: string | undefined } | undefined> {
  try {
    const answer = await secrets.send(new DescribeSecretCommand({ SecretId: secretId }));
    return { versionId: Object.entries(answer.VersionIdsToStages ?? {}).find(([, stages]) => stages.includes("AWSCURRENT"))?.[0] };
  } catch (error) {
    if (errorKindOf(error) === "aws-access") return undefined;
    throw error;
  }
}

export function describe({ current, state, pending, decision, next, now }: Inspection, rules: DecisionRules, credential?: string): TokenStatus {
  const doc = current.document;
  const seconds = (iso: string | undefined, sign: 1 | -1) => (iso ? Math.floor((sign * (Date.parse(iso) - now)) / 1000) : undefined);
  const ttl = accessTokenSecondsLeft(doc, now);
  const stateText = ttl === undefined ? "empty" : ttl <= 0 ? "expired" : isDue(doc, now, rules) ? "due" : "valid";
  const iso = (epochMs: number) => new Date(epochMs).toISOString();
  const { leaseOwner, leaseUntil, failureStreak, nextAttemptAt, lastAttempt, paused } = state ?? {};
  return {
    ...(credential && { credential }),
    tokenSecretArn: current.arn,
    versionId: current.versionId,
    state: stateText,
    nextRun: next,
    accessTokenPresent: Boolean(doc.accessToken),
    refreshTokenPresent: Boolean(doc.refreshToken),
    tokenType: doc.tokenType,
    scope: doc.scope,
    expiresAt: doc.expiresAt,
    ttlSeconds: seconds(doc.expiresAt, 1),
    refreshedAt: doc.refreshedAt,
    // refreshedAt is AWS's time, good to about a second: a pair just stored is no younger than 0 s.
    ageSeconds: doc.refreshedAt === undefined ? undefined : Math.max(0, seconds(doc.refreshedAt, -1)!),
    refreshWindowSeconds: rules.refreshWindowSeconds,
    ...(leaseOwner && leaseUntil !== undefined && { lease: { owner: leaseOwner, until: iso(leaseUntil), active: leaseUntil > now } }),
    ...(pending && { pendingVersionId: pending.versionId }),
    ...(failureStreak !== undefined && { failureStreak }),
    ...(nextAttemptAt !== undefined && nextAttemptAt > now && { nextAttemptAt: iso(nextAttemptAt) }),
    ...(decision.kind === "backoff" && { backoff: { until: iso(decision.until), clientSecretChecked: decision.certain } }),
    ...(doc.refreshTokenExpiresAt && { refreshTokenExpiresAt: doc.refreshTokenExpiresAt, refreshTokenTtlSeconds: seconds(doc.refreshTokenExpiresAt, 1) }),
    ...(paused && { paused: { since: iso(paused.at), by: paused.by } }),
    ...(lastAttempt && {
      lastAttempt: { outcome: lastAttempt.outcome, reason: lastAttempt.reason, at: iso(lastAttempt.at), ...(lastAttempt.errorCode && { errorCode: lastAttempt.errorCode }) },
    }),
  };
}

/** The next run, in words. */
const NEXT_RUN_TEXT: Readonly<Record<NextRun, string>> = {
  refresh: "refreshes the pair",
  "complete-pending": "makes the pending version current, without calling the platform",
  "not-due": "skips: not due",
  busy: "skips: another run holds the lease",
  paused: "skips: paused (a forced run still refreshes)",
  backoff: "skips: backing off after failures",
};

/** What the operator of a dedicated refresher does about a missing pair, a pause, a backoff; a fleet's operator differs. */
export interface StatusAdvice {
  readonly noPair: string;
  readonly resume: string;
  /** How to refresh at once, when the deployment has a way. */
  readonly refreshNow?: string;
}

const DEDICATED_ADVICE: StatusAdvice = { noPair: "run: token-refresher init", resume: "token-refresher resume", refreshNow: "token-refresher refresh --force" };

export function renderStatus(status: TokenStatus, advice: StatusAdvice = DEDICATED_ADVICE): string {
  const rows: [string, string][] = [];
  if (status.credential) rows.push(["credential", status.credential]);
  rows.push(["token secret", status.tokenSecretArn]);
  rows.push(["version", `${status.versionId} (AWSCURRENT)`]);
  const stateText = {
    valid: "valid",
    due: `valid, refresh due (inside the ${formatDuration(status.refreshWindowSeconds)} refresh window, or no refresh token stored)`,
    expired: "EXPIRED — consumers have no valid token",
    empty: `NO TOKEN PAIR — ${advice.noPair}`,
  }[status.state];
  rows.push(["state", stateText]);
  rows.push(["access token", status.accessTokenPresent ? "present (value not shown)" : "absent"]);
  rows.push(["refresh token", status.refreshTokenPresent ? "present (value not shown)" : "absent"]);
  if (status.expiresAt) {
    const ttl = status.ttlSeconds ?? 0;
    rows.push(["expires", `${status.expiresAt} (${ttl > 0 ? `in ${formatDuration(ttl)}` : `${formatDuration(-ttl)} ago`})`]);
  }
  if (status.refreshedAt) rows.push(["last refresh", `${status.refreshedAt} (${formatDuration(status.ageSeconds ?? 0)} ago)`]);
  if (status.tokenType || status.scope) rows.push(["type / scope", `${status.tokenType ?? "-"} / ${status.scope ?? "-"}`]);
  if (status.lease) {
    rows.push([
      "lease",
      status.lease.active
        ? `held by run ${status.lease.owner} until ${status.lease.until} (a refresh is in progress; a crashed run's lease expires then)`
        : `left by run ${status.lease.owner}, expired at ${status.lease.until} (the next run takes over)`,
    ]);
  } else {
    rows.push(["lease", status.failureStreak === undefined ? `unknown (set ${variableOf("stateTableName")} and ${variableOf("name")}, or pass --function)` : "none"]);
  }
  if (status.refreshTokenExpiresAt) {
    const left = status.refreshTokenTtlSeconds ?? 0;
    rows.push(["refresh until", `${status.refreshTokenExpiresAt} (the refresh token's own expiry${left > 0 ? `, in ${formatDuration(left)}` : ", PASSED"})`]);
  }
  if (status.paused) rows.push(["paused", `since ${status.paused.since} by ${status.paused.by} (resume with: ${advice.resume})`]);
  if (status.lastAttempt) {
    const { outcome, reason, at, errorCode } = status.lastAttempt;
    rows.push(["last attempt", `${outcome} (${reason}${errorCode ? `, code ${errorCode}` : ""}) at ${at}`]);
  }
  if (status.failureStreak) rows.push(["failures", `${status.failureStreak} in a row`]);
  if (status.pendingVersionId) {
    rows.push(["pending", `version ${status.pendingVersionId} is newer than AWSCURRENT and was stored by a run that did not make it current; the next run that takes the lease makes it current`]);
  }
  rows.push(["next run", NEXT_RUN_TEXT[status.nextRun]]);
  if (status.backoff) {
    const unless = status.backoff.clientSecretChecked ? "" : " (unless the client secret changed since the failure: status could not read its version)";
    rows.push(["backoff", `next attempt at ${status.backoff.until}${unless}${advice.refreshNow ? `; or now with: ${advice.refreshNow}` : ""}`]);
  }
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `${label.padEnd(width)}  ${value}\n`).join("");
}
