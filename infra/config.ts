import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import {
  DEFAULT_DIALECT,
  DEPLOYMENT_LIMITS,
  DIALECTS,
  HANDLER_LIMITS,
  OAUTH2_CLIENT_AUTH_METHODS,
  OAUTH2_DIALECTS,
  oauth2ParameterProblem,
  usesRefreshToken,
  type DialectName,
  type Limit,
  type OAuth2ClientAuth,
} from "../lambda/settings.js";
import { DEFAULT_ACCESS_TOKEN_TTL_THRESHOLD } from "./token-refresher/props.js";
import { operatorPrincipalArnsProblem } from "./token-refresher/principals.js";
import { WRITE_AND_REPORT_TIME } from "./token-refresher/validate.js";

/** cdk.json context key holding the configuration object. */
export const CONTEXT_KEY = "token-refresher";
/** Context key (`-c configFile=path`) naming a JSON file that replaces the cdk.json configuration. */
export const CONFIG_FILE_KEY = "configFile";

/** Per-credential settings; everything but `name` and `endpointUrl` may also sit in `defaults`. */
export interface CredentialConfig {
  /** Credential name ([A-Za-z0-9_.-]{1,64}): metric dimension, event field, alarm names. */
  readonly name: string;
  readonly dialect: DialectName;
  /** https:// base URL of the token API. */
  readonly endpointUrl: string;
  readonly oauth2TokenPath?: string;
  readonly oauth2DefaultExpiresInSeconds?: number;
  /** OAuth2 client authentication (default: the client secret's `clientAuth`, else client_secret_post). */
  readonly oauth2ClientAuth?: OAuth2ClientAuth;
  /** OAuth2 `scope` sent with every grant (the client secret's `scope` overrides it). */
  readonly oauth2Scope?: string;
  /** OAuth2 `audience` sent with every grant (the client secret's `audience` overrides it). */
  readonly oauth2Audience?: string;
  readonly scheduleMinutes?: number;
  readonly refreshWindowMinutes?: number;
  readonly accessTokenTtlThresholdMinutes?: number;
  /** `RefreshTokenTtl` alarm threshold in hours (default 72). */
  readonly refreshTokenTtlThresholdHours?: number;
  readonly timeoutSeconds?: number;
  readonly httpTimeoutMs?: number;
  /** Complete ARN of an existing client secret (else the stack creates one). */
  readonly clientSecretArn?: string;
  /** Name of an existing client secret in the stack's account and region. */
  readonly clientSecretName?: string;
  readonly tokenSecretArn?: string;
  readonly tokenSecretName?: string;
  /** Customer-managed KMS key: encrypts the secrets the stack creates; imported secrets are assumed to use it. */
  readonly kmsKeyArn?: string;
  /** Unset or 0 reserves nothing (the default: the lease keeps runs from overlapping). */
  readonly reservedConcurrency?: number;
  readonly memorySize?: number;
  readonly logRetentionDays?: number;
  /** Event bus name or ARN. */
  readonly eventBusName?: string;
}

export interface AppConfig {
  readonly stackName: string;
  readonly account?: string;
  readonly region?: string;
  /** Subscribed to the stack's alarm topic. */
  readonly alarmEmail?: string;
  /** An existing on-call topic; else the stack creates one for all credentials. */
  readonly alarmTopicArn?: string;
  readonly metricsNamespace?: string;
  /** IAM role/user ARNs that may read the created client secrets and write the created token secrets, besides the refreshers. */
  readonly operatorPrincipalArns?: readonly string[];
  /** Runbook every alarm description links to. */
  readonly runbookUrl?: string;
  /** One CloudWatch dashboard per credential. */
  readonly dashboard?: boolean;
  readonly credentials: readonly CredentialConfig[];
}

/** The configuration is invalid; `problems` lists every bad field by its path. */
export class AppConfigError extends Error {
  override readonly name = "AppConfigError";
  constructor(
    readonly source: string,
    readonly problems: readonly string[],
  ) {
    super(`Invalid token-refresher configuration (${source}):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  }
}

/** CloudWatch Logs retention values (days) that Lambda log groups accept. */
export const RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] as const;

type Raw = Record<string, unknown>;
type FieldCheck = (path: string, value: unknown) => string | undefined;

const isObject = (value: unknown): value is Raw => typeof value === "object" && value !== null && !Array.isArray(value);
const show = (value: unknown) => JSON.stringify(value);

const text =
  (pattern: RegExp, what: string): FieldCheck =>
  (path, value) =>
    typeof value === "string" && pattern.test(value) ? undefined : `${path} must be ${what}, got ${show(value)}`;

const integer =
  (min: number, max: number, unit = ""): FieldCheck =>
  (path, value) =>
    typeof value === "number" && Number.isInteger(value) && value >= min && value <= max
      ? undefined
      : `${path} must be a whole number${unit} from ${min} to ${max}, got ${show(value)}`;

/** A whole number within one of lambda/settings.ts's limits, `scale` converting its unit (e.g. 1/60 for seconds → minutes). */
const within = (limit: Limit, unit: string, scale = 1): FieldCheck => integer(Math.ceil(limit.min * scale), Math.floor(limit.max * scale), unit);

const httpsUrl: FieldCheck = (path, value) => {
  if (typeof value !== "string") return `${path} must be an https URL, got ${show(value)}`;
  try {
    const url = new URL(value);
    if (url.protocol !== "https:") return `${path} must be an https URL, got ${show(value)}`;
    if (url.username || url.password) return `${path} must not contain credentials (they belong in the client secret)`;
  } catch {
    return `${path} must be an https URL, got ${show(value)}`;
  }
  return undefined;
};

const oneOf =
  (values: readonly (string | number)[]): FieldCheck =>
  (path, value) =>
    values.includes(value as string | number) ? undefined : `${path} must be one of ${values.join(", ")}, got ${show(value)}`;

/** A valid OAuth2 `scope` or `audience` (lambda/settings.ts checks both for the handler too). */
const oauth2Parameter =
  (parameter: "scope" | "audience"): FieldCheck =>
  (path, value) => {
    if (typeof value !== "string") return `${path} must be a string, got ${show(value)}`;
    const problem = oauth2ParameterProblem(parameter, value);
    return problem && `${path} ${problem}`;
  };

const boolean: FieldCheck = (path, value) => (typeof value === "boolean" ? undefined : `${path} must be true or false, got ${show(value)}`);

const principalArns: FieldCheck = (path, value) => {
  const problem = Array.isArray(value) ? operatorPrincipalArnsProblem(value) : `must be a list of IAM role or user ARNs, got ${show(value)}`;
  return problem && `${path} ${problem}`;
};

const ARN = (service: string, resource: string) => new RegExp(`^arn:aws[a-z-]*:${service}:[a-z0-9-]+:\\d{12}:${resource}$`);

/** Fields a credential (or `defaults`) may have, with their checks. */
const CREDENTIAL_FIELDS: Record<string, FieldCheck> = {
  dialect: oneOf(DIALECTS),
  oauth2TokenPath: text(/^(\/|https:\/\/)\S*$/, 'a path starting with "/" or an https URL'),
  oauth2DefaultExpiresInSeconds: within(HANDLER_LIMITS.DEFAULT_EXPIRES_IN_SECONDS, " of seconds"),
  oauth2ClientAuth: oneOf(OAUTH2_CLIENT_AUTH_METHODS),
  oauth2Scope: oauth2Parameter("scope"),
  oauth2Audience: oauth2Parameter("audience"),
  scheduleMinutes: within(DEPLOYMENT_LIMITS.scheduleMinutes, " of minutes"),
  refreshWindowMinutes: integer(1, HANDLER_LIMITS.REFRESH_WINDOW_SECONDS.max / 60, " of minutes"),
  accessTokenTtlThresholdMinutes: integer(1, HANDLER_LIMITS.REFRESH_WINDOW_SECONDS.max / 60 - 1, " of minutes"),
  // Up to a year: refresh tokens that live longer are rare, and a year ahead is warning enough.
  refreshTokenTtlThresholdHours: integer(1, 365 * 24, " of hours"),
  timeoutSeconds: within(DEPLOYMENT_LIMITS.timeoutSeconds, " of seconds"),
  httpTimeoutMs: within(HANDLER_LIMITS.HTTP_TIMEOUT_MS, " of ms"),
  clientSecretArn: text(ARN("secretsmanager", "secret:.+-[A-Za-z0-9]{6}"), "a complete Secrets Manager secret ARN (ending in -xxxxxx)"),
  clientSecretName: text(/^[A-Za-z0-9/_+=.@-]{1,512}$/, "a Secrets Manager secret name"),
  tokenSecretArn: text(ARN("secretsmanager", "secret:.+-[A-Za-z0-9]{6}"), "a complete Secrets Manager secret ARN (ending in -xxxxxx)"),
  tokenSecretName: text(/^[A-Za-z0-9/_+=.@-]{1,512}$/, "a Secrets Manager secret name"),
  kmsKeyArn: text(ARN("kms", "key/[A-Za-z0-9-]+"), "a KMS key ARN (arn:aws:kms:region:account:key/id)"),
  reservedConcurrency: integer(0, 1000),
  memorySize: within(DEPLOYMENT_LIMITS.memorySizeMb, " of MB"),
  logRetentionDays: oneOf(RETENTION_DAYS),
  eventBusName: text(/^(arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:event-bus\/[A-Za-z0-9._\-/]+|[A-Za-z0-9._\-/]{1,256})$/, "an event bus name or ARN"),
};

const TOP_LEVEL_FIELDS: Record<string, FieldCheck> = {
  stackName: text(/^[A-Za-z][A-Za-z0-9-]{0,127}$/, "a CloudFormation stack name (letters, digits, hyphens; starting with a letter)"),
  account: text(/^\d{12}$/, "a 12-digit AWS account id"),
  region: text(/^[a-z]{2}(-[a-z]+)+-\d$/, "an AWS region such as eu-west-1"),
  alarmEmail: text(/^[^\s@]+@[^\s@]+\.[^\s@]+$/, "an e-mail address"),
  alarmTopicArn: text(ARN("sns", "[A-Za-z0-9_-]{1,256}"), "an SNS topic ARN"),
  metricsNamespace: text(/^(?!AWS\/)[A-Za-z0-9 ._/#:-]{1,255}$/, 'a CloudWatch namespace (not starting with "AWS/")'),
  operatorPrincipalArns: principalArns,
  // eslint-disable-next-line no-control-regex -- the check is about control characters
  runbookUrl: text(/^[^\u0000-\u001f\u007f]{1,400}$/, "1-400 characters without control characters"),
  dashboard: boolean,
};

function checkFields(raw: Raw, path: string, fields: Record<string, FieldCheck>, extra: readonly string[], problems: string[]): void {
  for (const [key, value] of Object.entries(raw)) {
    const check = fields[key];
    if (check) {
      const problem = check(`${path}${key}`, value);
      if (problem) problems.push(problem);
    } else if (!extra.includes(key)) {
      problems.push(`${path}${key} is not a known field (known: ${[...extra, ...Object.keys(fields)].join(", ")})`);
    }
  }
}

/**
 * Validates a configuration object (the cdk.json context value or a config file's content). Every
 * problem is reported at once, each naming its field, e.g. `credentials[1].endpointUrl must be an https URL`.
 */
export function parseAppConfig(raw: unknown, source: string): AppConfig {
  const problems: string[] = [];
  if (!isObject(raw)) throw new AppConfigError(source, [`the configuration must be a JSON object, got ${show(raw)}`]);
  checkFields(raw, "", TOP_LEVEL_FIELDS, ["credentials", "defaults"], problems);

  let defaults: Raw = {};
  if (raw.defaults !== undefined) {
    if (isObject(raw.defaults)) {
      defaults = raw.defaults;
      checkFields(defaults, "defaults.", CREDENTIAL_FIELDS, [], problems);
    } else {
      problems.push(`defaults must be an object, got ${show(raw.defaults)}`);
    }
  }

  const credentials: CredentialConfig[] = [];
  if (!Array.isArray(raw.credentials) || raw.credentials.length === 0) {
    problems.push(`credentials must be a non-empty array of credentials, got ${show(raw.credentials)}`);
  } else {
    const seen = new Map<string, number>();
    raw.credentials.forEach((entry: unknown, index) => {
      const path = `credentials[${index}].`;
      if (!isObject(entry)) {
        problems.push(`credentials[${index}] must be an object, got ${show(entry)}`);
        return;
      }
      const before = problems.length;
      checkFields(entry, path, CREDENTIAL_FIELDS, ["name", "endpointUrl"], problems);
      const nameProblem = text(/^[A-Za-z0-9_.-]{1,64}$/, '1-64 letters, digits, "_", "." or "-"')(`${path}name`, entry.name);
      if (nameProblem) problems.push(nameProblem);
      const urlProblem = httpsUrl(`${path}endpointUrl`, entry.endpointUrl);
      if (urlProblem) problems.push(urlProblem);
      if (typeof entry.name === "string") {
        const first = seen.get(entry.name);
        if (first !== undefined) problems.push(`${path}name ${show(entry.name)} duplicates credentials[${first}].name`);
        else seen.set(entry.name, index);
      }
      if (problems.length > before) return;
      const merged = { dialect: DEFAULT_DIALECT, ...defaults, ...entry } as unknown as CredentialConfig;
      crossCheck(merged, path, entry, defaults, problems);
      credentials.push(merged);
    });
  }
  if (problems.length > 0) throw new AppConfigError(source, problems);
  return {
    stackName: (raw.stackName as string | undefined) ?? "TokenRefresher",
    account: raw.account as string | undefined,
    region: raw.region as string | undefined,
    alarmEmail: raw.alarmEmail as string | undefined,
    alarmTopicArn: raw.alarmTopicArn as string | undefined,
    metricsNamespace: raw.metricsNamespace as string | undefined,
    operatorPrincipalArns: raw.operatorPrincipalArns as string[] | undefined,
    runbookUrl: raw.runbookUrl as string | undefined,
    dashboard: raw.dashboard as boolean | undefined,
    credentials,
  };
}

/** The credential fields only the OAuth2 dialects use. */
const OAUTH2_FIELDS = ["oauth2TokenPath", "oauth2DefaultExpiresInSeconds", "oauth2ClientAuth", "oauth2Scope", "oauth2Audience"] as const;

/** Checks that involve several fields of one (merged) credential; names the field as written in `entry` or `defaults`. */
function crossCheck(c: CredentialConfig, path: string, entry: Raw, defaults: Raw, problems: string[]): void {
  const where = (field: string) => (field in entry || !(field in defaults) ? `${path}${field}` : `defaults.${field}`);
  const schedule = c.scheduleMinutes ?? DEPLOYMENT_LIMITS.scheduleMinutes.default;
  const window = c.refreshWindowMinutes ?? HANDLER_LIMITS.REFRESH_WINDOW_SECONDS.default / 60;
  const threshold = c.accessTokenTtlThresholdMinutes ?? DEFAULT_ACCESS_TOKEN_TTL_THRESHOLD.toMinutes();
  const timeout = c.timeoutSeconds ?? DEPLOYMENT_LIMITS.timeoutSeconds.default;
  const runBudgetMs = (timeout - WRITE_AND_REPORT_TIME.toSeconds()) * 1000;
  if (window <= schedule) {
    problems.push(`${where("refreshWindowMinutes")} (${window}) must be greater than scheduleMinutes (${schedule}), or the token can expire between two runs`);
  }
  if (threshold >= window) {
    problems.push(`${where("accessTokenTtlThresholdMinutes")} (${threshold}) must be less than refreshWindowMinutes (${window}), or the alarm fires on healthy runs`);
  }
  if (timeout >= schedule * 60) problems.push(`${where("timeoutSeconds")} (${timeout}) must be shorter than the schedule (${schedule} min)`);
  if (runBudgetMs > HANDLER_LIMITS.RUN_BUDGET_MS.max) {
    problems.push(`${where("timeoutSeconds")} (${timeout}) leaves a run budget (timeoutSeconds - 15 s) above the handler's maximum of ${HANDLER_LIMITS.RUN_BUDGET_MS.max / 1000} s`);
  }
  if (c.httpTimeoutMs !== undefined && c.httpTimeoutMs > runBudgetMs) {
    problems.push(`${where("httpTimeoutMs")} (${c.httpTimeoutMs}) must not exceed the run budget (timeoutSeconds - 15 s = ${runBudgetMs} ms)`);
  }
  // A field in `defaults` applies only to the credentials whose dialect uses it (see TokenRefresherStack).
  if (!OAUTH2_DIALECTS.includes(c.dialect)) {
    for (const field of OAUTH2_FIELDS) {
      if (field in entry) problems.push(`${path}${field} is only used by the oauth2 and client_credentials dialects (dialect is ${c.dialect})`);
    }
  }
  if (!usesRefreshToken(c.dialect) && "refreshTokenTtlThresholdHours" in entry) {
    problems.push(`${path}refreshTokenTtlThresholdHours is not used by the ${c.dialect} dialect, which has no refresh token`);
  }
  for (const kind of ["client", "token"] as const) {
    if (c[`${kind}SecretArn`] !== undefined && c[`${kind}SecretName`] !== undefined) {
      problems.push(`${path}${kind}SecretArn and ${kind}SecretName are mutually exclusive`);
    }
  }
  const client = c.clientSecretArn ?? c.clientSecretName;
  if (client !== undefined && client === (c.tokenSecretArn ?? c.tokenSecretName)) {
    problems.push(`${path}tokenSecretArn/tokenSecretName must not name the client secret`);
  }
}

/** Where the app finds its configuration: context values, and a file reader (for tests). */
export interface ConfigSource {
  tryGetContext(key: string): unknown;
}

/**
 * Reads the configuration: the JSON file named by `-c configFile=path` (relative to the working
 * directory) if given, else the `token-refresher` context object of cdk.json (a JSON string, as
 * `-c token-refresher='{...}'` passes it, is parsed too).
 */
export function loadAppConfig(context: ConfigSource, readFile: (path: string) => string = (p) => readFileSync(p, "utf8")): AppConfig {
  const file = context.tryGetContext(CONFIG_FILE_KEY);
  if (file !== undefined) {
    if (typeof file !== "string" || file === "") throw new AppConfigError(`-c ${CONFIG_FILE_KEY}`, [`${CONFIG_FILE_KEY} must be a file path`]);
    const path = resolve(file);
    const source = `config file ${path}`;
    let content: string;
    try {
      content = readFile(path);
    } catch (error) {
      throw new AppConfigError(source, [`cannot read the file: ${(error as Error).message}`]);
    }
    return parseAppConfig(parseJson(content, source), source);
  }
  const source = `cdk.json context "${CONTEXT_KEY}"`;
  const value = context.tryGetContext(CONTEXT_KEY);
  if (value === undefined) {
    throw new AppConfigError(source, [`no configuration: set "${CONTEXT_KEY}" in the context of cdk.json, or pass -c ${CONFIG_FILE_KEY}=path/to/config.json`]);
  }
  return parseAppConfig(typeof value === "string" ? parseJson(value, source) : value, source);
}

function parseJson(content: string, source: string): unknown {
  try {
    return JSON.parse(content) as unknown;
  } catch (error) {
    throw new AppConfigError(source, [`not valid JSON: ${(error as Error).message}`]);
  }
}
