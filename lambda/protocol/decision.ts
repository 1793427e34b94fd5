// What a run does with what it read: the one rule set the workflow follows and `status` reports
// (docs/protocol.md, "A run, step by step"). Pure: no I/O, no clock of its own — `now` is AWS's time
// (lambda/clock.ts), so a host's clock never decides.
import { accessTokenSecondsLeft, type TokenDocument } from "../secrets/token-store.js";
import type { CredentialState } from "../state/state-table.js";

/**
 * A due token is refreshed no sooner than this after the last refresh, unless it is about to
 * expire: 24 h / 16 min = 90 versions, inside the budget. Only tokens living under about half an
 * hour notice (docs/protocol.md, "Version budget").
 */
export const MIN_REFRESH_SPACING_MS = 16 * 60 * 1000;
/** Within this much of expiry a due token is refreshed whatever the spacing: one 5-minute schedule tick and its jitter. */
export const URGENT_TTL_SECONDS = 6 * 60;
/** Schedule ticks wander by seconds: an attempt is due this much before `nextAttemptAt`. */
export const BACKOFF_SLACK_MS = 60 * 1000;

/** The credential's settings a decision depends on. */
export interface DecisionRules {
  /** Refresh when the access token has this many seconds left or fewer. */
  readonly refreshWindowSeconds: number;
  /** The dialect's pairs carry a refresh token (`usesRefreshToken` in lambda/settings.ts): a pair without one is due. */
  readonly usesRefreshToken: boolean;
}

/** What a run knows when it decides. */
export interface DecisionInput {
  /** AWSCURRENT's pair. */
  readonly document: TokenDocument;
  readonly state: CredentialState;
  /** AWS's time (epoch ms). */
  readonly now: number;
  readonly force: boolean;
  /** The client secret's AWSCURRENT version, once read; absent while it is not known. */
  readonly clientSecret?: { readonly versionId: string | undefined };
}

export type SkipReason = "not-due" | "busy" | "paused";

export type Decision =
  | { readonly kind: "skip"; readonly reason: SkipReason }
  /**
   * A failing credential waits until `until` (AWS's time). `certain` is false when the client
   * secret's version was not known: it waits unless that version changed since the failure.
   */
  | { readonly kind: "backoff"; readonly until: number; readonly certain: boolean }
  /** Take the lease. `due`: refresh under it; `leftover`: a holder ended without a clean release, and its pair may wait for promotion. */
  | { readonly kind: "attempt"; readonly due: boolean; readonly leftover: boolean };

/**
 * What a run does before it takes the lease. A run that has not read the client secret yet may
 * get `backoff` with `certain: false`; it reads the client secret and decides again.
 */
export function decide(input: DecisionInput, rules: DecisionRules): Decision {
  const { document, state, now, force } = input;
  const leftover = leftoverOwner(state, now) !== undefined;
  const due = force || isDue(document, now, rules);
  if (!due && !leftover) return { kind: "skip", reason: "not-due" };
  if (leaseLive(state, now)) return { kind: "skip", reason: "busy" };
  // An operator paused the credential (docs/cli.md, "Pausing a credential"): only a forced run refreshes.
  if (state.paused && !force) return { kind: "skip", reason: "paused" };
  const backoff = force || leftover ? undefined : backoffUntil(state, now, input.clientSecret);
  return backoff ?? { kind: "attempt", due, leftover };
}

/**
 * The holder that ended without a clean release (its lease expired, its name kept): it may have
 * stored a pair that is not current yet.
 */
export function leftoverOwner(state: CredentialState, now: number): string | undefined {
  return leaseLive(state, now) ? undefined : state.leaseOwner;
}

/** A run holds the lease (or held it and has not reached its end yet). */
function leaseLive(state: CredentialState, now: number): boolean {
  return state.leaseUntil !== undefined && state.leaseUntil > now;
}

/** Whether the stored pair is due: no usable access token, no refresh token where the dialect needs one, or inside the window and not held by spacing. */
export function isDue(document: TokenDocument, now: number, rules: DecisionRules): boolean {
  const ttl = accessTokenSecondsLeft(document, now);
  if (ttl === undefined || (!document.refreshToken && rules.usesRefreshToken)) return true;
  return ttl <= rules.refreshWindowSeconds && !heldBySpacing(document, ttl, now);
}

/**
 * From when `isDue` holds for the stored pair (AWS's time, epoch ms): inside the refresh window and,
 * unless within the urgent margin of expiry, no sooner than the spacing after the last refresh.
 * Undefined when it is due at once (no usable access token, or no refresh token where the dialect
 * needs one). A fleet's registry keeps it as the credential's next due time (docs/fleet.md).
 */
export function dueAt(document: TokenDocument, rules: DecisionRules): number | undefined {
  if (!document.accessToken || !document.expiresAt || (!document.refreshToken && rules.usesRefreshToken)) return undefined;
  const expiresAt = Date.parse(document.expiresAt);
  const windowOpens = expiresAt - rules.refreshWindowSeconds * 1000;
  if (!document.refreshedAt) return windowOpens;
  const spacingEnds = Math.min(Date.parse(document.refreshedAt) + MIN_REFRESH_SPACING_MS, expiresAt - URGENT_TTL_SECONDS * 1000);
  return Math.max(windowOpens, spacingEnds);
}

/** Whether a due token waits for the version budget's spacing (docs/protocol.md, "Version budget"). */
export function heldBySpacing(document: TokenDocument, ttlSeconds: number, now: number): boolean {
  if (!document.refreshedAt || ttlSeconds <= URGENT_TTL_SECONDS) return false;
  return now - Date.parse(document.refreshedAt) < MIN_REFRESH_SPACING_MS;
}

/**
 * The backoff a permanent failure set (`nextAttemptAt`), while the client secret is still the one
 * that failed: a new client secret version ends it.
 */
function backoffUntil(state: CredentialState, now: number, clientSecret: DecisionInput["clientSecret"]): Decision | undefined {
  const until = state.nextAttemptAt;
  if (until === undefined || now >= until - BACKOFF_SLACK_MS) return undefined;
  if (state.clientSecretVersionId === undefined) return { kind: "backoff", until, certain: true };
  if (clientSecret === undefined) return { kind: "backoff", until, certain: false };
  return clientSecret.versionId === state.clientSecretVersionId ? { kind: "backoff", until, certain: true } : undefined;
}

/** What the next run does, as `status` reports it: the decision, and what the run does under the lease. */
export type NextRun = SkipReason | "backoff" | "complete-pending" | "refresh";

/**
 * The outcome of a run that is not forced, given its decision and whether a leftover holder's pair
 * is waiting (newer than AWSCURRENT): under the lease the run promotes that pair and stops, else
 * refreshes if due (lambda/refresh/workflow.ts, `underLease`).
 */
export function nextRun(decision: Decision, pendingPair: boolean): NextRun {
  switch (decision.kind) {
    case "skip":
      return decision.reason;
    case "backoff":
      return "backoff";
    case "attempt":
      return pendingPair ? "complete-pending" : decision.due ? "refresh" : "not-due";
  }
}
