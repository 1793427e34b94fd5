// One source for the refresher's defaults, limits and dialect names (README, "Configuration"): the
// Lambda's environment parser (lambda/config.ts), the CDK config file loader (infra/config.ts) and the
// construct (infra/token-refresher/) all read them here. It imports nothing, so the construct loads no
// HTTP client and no AWS SDK through it.

/** Token API dialects the refresher speaks. */
export const DIALECTS = ["iot", "oauth2"] as const;
export type DialectName = (typeof DIALECTS)[number];
export const DEFAULT_DIALECT: DialectName = "iot";

/** A whole-number setting: its default and the range it must lie in, both ends included. */
export interface Limit {
  readonly default: number;
  readonly min: number;
  readonly max: number;
}

/** The handler's numeric settings, by environment variable (README, "Configuration"). */
export const HANDLER_LIMITS = {
  /** Refresh when the access token has this many seconds left or fewer. */
  REFRESH_WINDOW_SECONDS: { default: 900, min: 0, max: 86_400 },
  /** Timeout of one HTTP attempt against the token API. */
  HTTP_TIMEOUT_MS: { default: 5_000, min: 100, max: 120_000 },
  /** The whole run (all attempts and backoff) ends within this budget. */
  RUN_BUDGET_MS: { default: 25_000, min: 1_000, max: 600_000 },
  /** A run's lease in the state table; a crashed run's lease expires after this. */
  LEASE_SECONDS: { default: 120, min: 1, max: 3_600 },
  /** OAuth2 lifetime assumed when a token response has no `expires_in`. */
  DEFAULT_EXPIRES_IN_SECONDS: { default: 3_600, min: 60, max: 31_536_000 },
  /** Timeout of one AWS request (Secrets Manager, DynamoDB, EventBridge). */
  AWS_REQUEST_TIMEOUT_MS: { default: 3_000, min: 100, max: 30_000 },
} as const satisfies Record<string, Limit>;
export type HandlerLimitName = keyof typeof HANDLER_LIMITS;

/** The deployment's numeric settings: the construct's props and the CDK configuration file. */
export const DEPLOYMENT_LIMITS = {
  /** Lambda timeout; the run budget and the lease derive from it. */
  timeoutSeconds: { default: 40, min: 20, max: 900 },
  /** Lambda memory (see the README's "Design notes and measurements"). */
  memorySizeMb: { default: 256, min: 128, max: 10_240 },
  /** Interval of the rate schedule; alarms evaluate two intervals and CloudWatch allows one day. */
  scheduleMinutes: { default: 5, min: 1, max: 720 },
} as const satisfies Record<string, Limit>;

export const DEFAULT_OAUTH2_TOKEN_PATH = "/api/v1/oauth2/token";
export const DEFAULT_METRICS_NAMESPACE = "TokenRefresher";
/** EventBridge bus the handler publishes to when EVENT_BUS_NAME is unset; an empty value disables events. */
export const DEFAULT_EVENT_BUS_NAME = "default";

/** Why `value` is not a whole number within `limit`, or undefined when it is. */
export function limitProblem(limit: Limit, value: number): string | undefined {
  if (!Number.isInteger(value)) return `must be a whole number, got ${value}`;
  if (value < limit.min || value > limit.max) return `must be between ${limit.min} and ${limit.max}, got ${value}`;
  return undefined;
}
