import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { pairVersionId } from "../../../lambda/protocol/write-protocol.js";
import { TokenStore, type TokenVersion } from "../../../lambda/secrets/token-store.js";
import { StateTable, type CredentialState } from "../../../lambda/state/state-table.js";
import { variableOf } from "../../../lambda/config/index.js";
import { CliError, EXIT, type ExitCode } from "../errors.js";
import { formatDuration } from "../format.js";
import type { CliIo } from "../io.js";
import { awsClientConfig, flag, secretsClient, someSettings, type ParsedArgs } from "../settings.js";

/** What `status` reports. By construction it holds no token value: only presence flags and times. */
export interface TokenStatus {
  readonly credential?: string;
  readonly tokenSecretArn: string;
  readonly versionId: string;
  /** valid: usable and not due; due: inside the refresh window; expired; empty: no pair stored. */
  readonly state: "valid" | "due" | "expired" | "empty";
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
  /** A new pair stored by a run that did not make it current (the next run completes it). */
  readonly pendingVersionId?: string;
  /** From the state table, when its name and the credential's are known. */
  readonly failureStreak?: number;
  readonly nextAttemptAt?: string;
  readonly lastAttempt?: { readonly outcome: string; readonly reason: string; readonly at: string; readonly errorCode?: string };
  readonly paused?: { readonly since: string; readonly by: string };
  readonly refreshTokenExpiresAt?: string;
  readonly refreshTokenTtlSeconds?: number;
}

export async function statusCommand(args: ParsedArgs, io: CliIo): Promise<ExitCode> {
  const settings = someSettings(args.env, ["tokenSecretId", "name", "stateTableName", "refreshWindowSeconds"], ["tokenSecretId"]);
  const tokenSecretId = settings.tokenSecretId as string;
  const window = settings.refreshWindowSeconds as number;
  const credential = settings.name as string | undefined;
  const tableName = settings.stateTableName as string | undefined;
  const secrets = secretsClient(io, args.env);
  const dynamodb = new DynamoDBClient(awsClientConfig(args.env));
  try {
    const store = new TokenStore(secrets, tokenSecretId);
    const current = await store.readCurrent().catch((error: unknown) => {
      if (error instanceof Error && error.name === "RefreshError") throw new CliError(error.message, EXIT.usage);
      throw error;
    });
    const state = credential && tableName ? await new StateTable(dynamodb, tableName, credential).read() : undefined;
    // A holder that ended without a clean release may have stored its pair without making it current.
    const left = state?.leaseOwner ? await store.readVersion(pairVersionId(state.leaseOwner)) : undefined;
    const pending = left && left.versionId !== current.versionId ? left : undefined;
    const status = describe(current, state, pending, window, (io.now ?? Date.now)(), credential);
    io.stdout(flag(args, "json") ? `${JSON.stringify(status, null, 2)}\n` : render(status));
    return status.state === "valid" || status.state === "due" ? EXIT.ok : EXIT.failed;
  } finally {
    if (!io.secrets) secrets.destroy();
    dynamodb.destroy();
  }
}

export function describe(
  current: TokenVersion,
  credentialState: CredentialState | undefined,
  pending: TokenVersion | undefined,
  window: number,
  now: number,
  credential?: string,
): TokenStatus {
  const doc = current.document;
  const seconds = (iso: string | undefined, sign: 1 | -1) => (iso ? Math.floor((sign * (Date.parse(iso) - now)) / 1000) : undefined);
  const ttl = seconds(doc.expiresAt, 1);
  const state = !doc.accessToken || ttl === undefined ? "empty" : ttl <= 0 ? "expired" : ttl <= window ? "due" : "valid";
  const iso = (epochMs: number) => new Date(epochMs).toISOString();
  const { leaseOwner, leaseUntil, failureStreak, nextAttemptAt, lastAttempt, paused } = credentialState ?? {};
  return {
    ...(credential && { credential }),
    tokenSecretArn: current.arn,
    versionId: current.versionId,
    state,
    accessTokenPresent: Boolean(doc.accessToken),
    refreshTokenPresent: Boolean(doc.refreshToken),
    tokenType: doc.tokenType,
    scope: doc.scope,
    expiresAt: doc.expiresAt,
    ttlSeconds: ttl,
    refreshedAt: doc.refreshedAt,
    // refreshedAt is AWS's time, good to about a second: a pair just stored is no younger than 0 s.
    ageSeconds: doc.refreshedAt === undefined ? undefined : Math.max(0, seconds(doc.refreshedAt, -1)!),
    refreshWindowSeconds: window,
    ...(leaseOwner && leaseUntil !== undefined && { lease: { owner: leaseOwner, until: iso(leaseUntil), active: leaseUntil > now } }),
    ...(pending && { pendingVersionId: pending.versionId }),
    ...(failureStreak !== undefined && { failureStreak }),
    ...(nextAttemptAt !== undefined && nextAttemptAt > now && { nextAttemptAt: iso(nextAttemptAt) }),
    ...(doc.refreshTokenExpiresAt && { refreshTokenExpiresAt: doc.refreshTokenExpiresAt, refreshTokenTtlSeconds: seconds(doc.refreshTokenExpiresAt, 1) }),
    ...(paused && { paused: { since: iso(paused.at), by: paused.by } }),
    ...(lastAttempt && {
      lastAttempt: { outcome: lastAttempt.outcome, reason: lastAttempt.reason, at: iso(lastAttempt.at), ...(lastAttempt.errorCode && { errorCode: lastAttempt.errorCode }) },
    }),
  };
}

function render(status: TokenStatus): string {
  const rows: [string, string][] = [];
  if (status.credential) rows.push(["credential", status.credential]);
  rows.push(["token secret", status.tokenSecretArn]);
  rows.push(["version", `${status.versionId} (AWSCURRENT)`]);
  const stateText = {
    valid: "valid",
    due: `valid, refresh due (inside the ${formatDuration(status.refreshWindowSeconds)} refresh window: the next run refreshes it)`,
    expired: "EXPIRED — consumers have no valid token",
    empty: "NO TOKEN PAIR — run: token-refresher init",
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
  if (status.paused) rows.push(["paused", `since ${status.paused.since} by ${status.paused.by} (resume with: token-refresher resume)`]);
  if (status.lastAttempt) {
    const { outcome, reason, at, errorCode } = status.lastAttempt;
    rows.push(["last attempt", `${outcome} (${reason}${errorCode ? `, code ${errorCode}` : ""}) at ${at}`]);
  }
  if (status.failureStreak) {
    rows.push(["failures", `${status.failureStreak} in a row${status.nextAttemptAt ? `; backing off: next attempt at ${status.nextAttemptAt} (or now with: token-refresher refresh --force)` : ""}`]);
  }
  if (status.pendingVersionId) {
    rows.push(["pending", `version ${status.pendingVersionId} was stored by a run that did not make it current; the next run completes it`]);
  }
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `${label.padEnd(width)}  ${value}\n`).join("");
}
