import { oauth2TokenUrl } from "./dialects/oauth2.js";
import { ConfigError } from "./errors.js";
import {
  DEFAULT_DIALECT,
  DEFAULT_EVENT_BUS_NAME,
  DEFAULT_METRICS_NAMESPACE,
  DEFAULT_OAUTH2_TOKEN_PATH,
  DIALECTS,
  HANDLER_LIMITS,
  OAUTH2_DIALECTS,
  checkOAuth2Options,
  limitProblem,
  type DialectName,
  type HandlerLimitName,
  type OAuth2ClientAuth,
} from "./settings.js";

export { DIALECTS, type DialectName } from "./settings.js";

/** Everything a refresh run is configured with; see the README's configuration table. */
export interface RefresherConfig {
  /** Credential name: the `Credential` metric dimension and the event's `credential`. */
  readonly credentialName: string;
  readonly dialect: DialectName;
  /** Secrets Manager id (name or ARN) of the client secret (read only). */
  readonly clientSecretId: string;
  /** Secrets Manager id (name or ARN) of the token secret (read and written). */
  readonly tokenSecretId: string;
  /** Platform base URL, e.g. `https://iot.example.com:8743` (IoT) or the OAuth2 server's origin. */
  readonly endpointUrl: string;
  /** OAuth2 token path or absolute URL, resolved against `endpointUrl`. */
  readonly oauth2TokenPath: string;
  /** OAuth2 lifetime assumed when a token response has no `expires_in`. */
  readonly defaultExpiresInSeconds: number;
  /** OAuth2 client authentication; unset: the client secret's `clientAuth`, else client_secret_post. */
  readonly oauth2ClientAuth?: OAuth2ClientAuth;
  /** OAuth2 `scope` sent with every grant; the client secret's `scope` overrides it. */
  readonly oauth2Scope?: string;
  /** OAuth2 `audience` sent with every grant; the client secret's `audience` overrides it. */
  readonly oauth2Audience?: string;
  /** Refresh when the access token has this many seconds left or fewer. */
  readonly refreshWindowSeconds: number;
  /** Timeout of one HTTP attempt. */
  readonly httpTimeoutMs: number;
  /** The whole run (all attempts and backoff) ends within this budget. */
  readonly runBudgetMs: number;
  /** A run's lease in the state table; a crashed run's lease expires after this. */
  readonly leaseSeconds: number;
  /** DynamoDB table holding each credential's lease and operational state (see docs/protocol.md). */
  readonly stateTableName: string;
  /** Timeout of one AWS request (Secrets Manager, DynamoDB, EventBridge), so a hung call cannot outlast the run. */
  readonly awsRequestTimeoutMs: number;
  readonly metricsNamespace: string;
  /** EventBridge bus for `Token Refreshed` / `Token Refresh Failed`; empty string disables events. */
  readonly eventBusName: string;
}

type Env = Readonly<Record<string, string | undefined>>;

function required(env: Env, name: string): string {
  const value = env[name]?.trim();
  if (!value) throw new ConfigError(`environment variable ${name} is required`);
  return value;
}

/** A numeric variable: its default when unset, else a whole number within its limits (lambda/settings.ts). */
function integer(env: Env, name: HandlerLimitName): number {
  const limit = HANDLER_LIMITS[name];
  const raw = env[name]?.trim();
  if (!raw) return limit.default;
  if (!/^\d+$/.test(raw)) throw new ConfigError(`environment variable ${name} must be a whole number, got "${raw}"`);
  const value = Number(raw);
  const problem = limitProblem(limit, value);
  if (problem) throw new ConfigError(`environment variable ${name} ${problem}`);
  return value;
}

function httpsUrl(name: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`environment variable ${name} is not a URL: "${value}"`);
  }
  if (url.protocol !== "https:") throw new ConfigError(`environment variable ${name} must use https://, got "${url.protocol}"`);
  return value.replace(/\/+$/, "");
}

/** REFRESH_WINDOW_SECONDS alone, for readers of the token secret (CLI `status`) that need no other setting. */
export function loadRefreshWindowSeconds(env: Env = process.env): number {
  return integer(env, "REFRESH_WINDOW_SECONDS");
}

/** OAUTH2_CLIENT_AUTH, OAUTH2_SCOPE and OAUTH2_AUDIENCE, when set. */
function oauth2Options(env: Env): Pick<RefresherConfig, "oauth2ClientAuth" | "oauth2Scope" | "oauth2Audience"> {
  const variables = { clientAuth: "OAUTH2_CLIENT_AUTH", scope: "OAUTH2_SCOPE", audience: "OAUTH2_AUDIENCE" } as const;
  const value = (name: string) => env[name]?.trim() || undefined;
  const { clientAuth, scope, audience } = checkOAuth2Options(
    { clientAuth: value(variables.clientAuth), scope: value(variables.scope), audience: value(variables.audience) },
    (option, problem) => new ConfigError(`environment variable ${variables[option]} ${problem}`),
  );
  return { ...(clientAuth && { oauth2ClientAuth: clientAuth }), ...(scope && { oauth2Scope: scope }), ...(audience && { oauth2Audience: audience }) };
}

/** What reaching the token API takes: the CLI's `check` reads only this (no token secret, state table or credential name). */
export type EndpointConfig = Pick<RefresherConfig, "dialect" | "clientSecretId" | "endpointUrl" | "oauth2TokenPath" | "httpTimeoutMs" | "runBudgetMs">;

export function loadEndpointConfig(env: Env = process.env): EndpointConfig {
  const dialect = (env.TOKEN_DIALECT?.trim() || DEFAULT_DIALECT) as DialectName;
  if (!DIALECTS.includes(dialect)) {
    throw new ConfigError(`environment variable TOKEN_DIALECT must be one of ${DIALECTS.join(", ")}, got "${dialect}"`);
  }
  const runBudgetMs = integer(env, "RUN_BUDGET_MS");
  const httpTimeoutMs = integer(env, "HTTP_TIMEOUT_MS");
  if (httpTimeoutMs > runBudgetMs) {
    throw new ConfigError(`HTTP_TIMEOUT_MS (${httpTimeoutMs}) must not exceed RUN_BUDGET_MS (${runBudgetMs})`);
  }
  const endpointUrl = httpsUrl("ENDPOINT_URL", required(env, "ENDPOINT_URL"));
  const oauth2TokenPath = env.OAUTH2_TOKEN_PATH?.trim() || DEFAULT_OAUTH2_TOKEN_PATH;
  // Fail the cold start, not every run, on a token path that makes no https URL.
  if (OAUTH2_DIALECTS.includes(dialect)) oauth2TokenUrl(endpointUrl, oauth2TokenPath);
  return { dialect, clientSecretId: required(env, "CLIENT_SECRET_ID"), endpointUrl, oauth2TokenPath, httpTimeoutMs, runBudgetMs };
}

export function loadConfig(env: Env = process.env): RefresherConfig {
  const { dialect, clientSecretId, endpointUrl, oauth2TokenPath, httpTimeoutMs, runBudgetMs } = loadEndpointConfig(env);
  const leaseSeconds = integer(env, "LEASE_SECONDS");
  if (leaseSeconds * 1000 <= runBudgetMs) {
    throw new ConfigError(`LEASE_SECONDS (${leaseSeconds}) must be longer than RUN_BUDGET_MS (${runBudgetMs} ms)`);
  }
  return {
    credentialName: required(env, "CREDENTIAL_NAME"),
    dialect,
    clientSecretId,
    tokenSecretId: required(env, "TOKEN_SECRET_ID"),
    endpointUrl,
    oauth2TokenPath,
    defaultExpiresInSeconds: integer(env, "DEFAULT_EXPIRES_IN_SECONDS"),
    ...oauth2Options(env),
    refreshWindowSeconds: loadRefreshWindowSeconds(env),
    httpTimeoutMs,
    runBudgetMs,
    leaseSeconds,
    stateTableName: required(env, "STATE_TABLE_NAME"),
    awsRequestTimeoutMs: integer(env, "AWS_REQUEST_TIMEOUT_MS"),
    metricsNamespace: env.METRICS_NAMESPACE?.trim() || DEFAULT_METRICS_NAMESPACE,
    eventBusName: env.EVENT_BUS_NAME?.trim() ?? DEFAULT_EVENT_BUS_NAME,
  };
}
