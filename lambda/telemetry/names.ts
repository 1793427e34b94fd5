// The telemetry contract's names, in a module without imports so the CDK app can share them cheaply.

/** Metric names alarms and dashboards depend on (docs/telemetry.md). */
export const METRIC = {
  succeeded: "RefreshSucceeded",
  skipped: "RefreshSkipped",
  failed: "RefreshFailed",
  credentialRejected: "CredentialRejected",
  appFrozen: "AppFrozen",
  pairDiscarded: "PairDiscarded",
  accessTokenTtl: "AccessTokenTtl",
  refreshTokenTtl: "RefreshTokenTtl",
  duration: "RefreshDuration",
} as const;
export const DIMENSION = "Credential";
/** A fleet's metrics (docs/fleet.md). */
export const FLEET_DIMENSION = "Fleet";
/** What a fleet's scheduler reports on every run, dimension `Fleet` (docs/fleet.md, "Telemetry and paging"). */
export const FLEET_METRIC = {
  due: "DueCredentials",
  enqueued: "EnqueuedCredentials",
  deferred: "DeferredCredentials",
  overdue: "OverdueCredentials",
} as const;
export const EVENT_SOURCE = "token-refresher";
export const EVENT_REFRESHED = "Token Refreshed";
export const EVENT_FAILED = "Token Refresh Failed";
/** Published by a fleet's scheduler for each credential no run refreshed in time (docs/fleet.md). */
export const EVENT_OVERDUE = "Token Refresh Overdue";
