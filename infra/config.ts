import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { settingProblems, withDefaults } from "../lambda/config/rules.js";
import { SETTING_FIELDS, setting, type Setting, type SettingField } from "../lambda/config/table.js";
import { valueProblem } from "../lambda/config/values.js";
import type { DialectName, OAuth2ClientAuth } from "../lambda/settings.js";

/** cdk.json context key holding the configuration object. */
export const CONTEXT_KEY = "token-refresher";
/** Context key (`-c configFile=path`) naming a JSON file that replaces the cdk.json configuration. */
export const CONFIG_FILE_KEY = "configFile";

/**
 * Per-credential settings, with the configuration file's field names (docs/configuration.md, generated
 * from the settings table); everything but `name` and `endpointUrl` may also sit in `defaults`.
 */
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

type Raw = Record<string, unknown>;
type JsonSetting = readonly [SettingField, NonNullable<Setting["json"]>];

const isObject = (value: unknown): value is Raw => typeof value === "object" && value !== null && !Array.isArray(value);
const show = (value: unknown) => JSON.stringify(value);

/** The settings of the configuration file, by where they stand (the settings table, docs/configuration.md). */
const JSON_SETTINGS: readonly JsonSetting[] = SETTING_FIELDS.flatMap((field) => {
  const json = setting(field).json;
  return json ? [[field, json] as const] : [];
});
const TOP_LEVEL = new Map(JSON_SETTINGS.filter(([, json]) => json.at === "top").map(([field, json]) => [json.field, field]));
const PER_CREDENTIAL = new Map(JSON_SETTINGS.filter(([, json]) => json.at === "credential").map(([field, json]) => [json.field, field]));
/** The secrets' JSON fields and the setting whose rules they follow (an ARN or a name both identify the secret). */
const SECRET_FIELDS = { clientSecretId: ["clientSecretArn", "clientSecretName"], tokenSecretId: ["tokenSecretArn", "tokenSecretName"] } as const;

/** A JSON value in its setting's canonical unit (minutes and hours become seconds). */
function canonical(json: NonNullable<Setting["json"]>, value: unknown): unknown {
  return json.scale !== undefined && typeof value === "number" && Number.isInteger(value) ? value * json.scale : value;
}

/** Checks each field on its own, by the table; reports unknown fields. */
function checkFields(raw: Raw, path: string, fields: ReadonlyMap<string, SettingField>, extra: readonly string[], problems: string[]): void {
  for (const [key, value] of Object.entries(raw)) {
    const field = fields.get(key);
    if (field) {
      const problem = valueProblem(setting(field).value, canonical(setting(field).json!, value));
      if (problem) problems.push(`${path}${key} ${problem}, got ${show(value)}`);
    } else if (!extra.includes(key)) {
      problems.push(`${path}${key} is not a known field (known: ${[...extra, ...fields.keys()].join(", ")})`);
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
  checkFields(raw, "", TOP_LEVEL, ["credentials", "defaults"], problems);

  let defaults: Raw = {};
  if (raw.defaults !== undefined) {
    if (isObject(raw.defaults)) {
      defaults = raw.defaults;
      const shared = new Map([...PER_CREDENTIAL].filter(([key]) => key !== "name" && key !== "endpointUrl"));
      checkFields(defaults, "defaults.", shared, [], problems);
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
      checkFields(entry, path, PER_CREDENTIAL, [], problems);
      for (const key of ["name", "endpointUrl"]) if (entry[key] === undefined) problems.push(`${path}${key} is required`);
      if (typeof entry.name === "string") {
        const first = seen.get(entry.name);
        if (first !== undefined) problems.push(`${path}name ${show(entry.name)} duplicates credentials[${first}].name`);
        else seen.set(entry.name, index);
      }
      if (problems.length > before) return;
      const merged = crossCheck(entry, defaults, path, problems);
      if (merged) credentials.push(merged);
    });
  }
  // A bad value in `defaults` is checked once with the defaults and again with each credential: say it once.
  if (problems.length > 0) throw new AppConfigError(source, [...new Set(problems)]);
  const top = (key: string) => raw[key];
  return {
    stackName: (top("stackName") as string | undefined) ?? (setting("stackName").default as string),
    account: top("account") as string | undefined,
    region: top("region") as string | undefined,
    alarmEmail: top("alarmEmail") as string | undefined,
    alarmTopicArn: top("alarmTopicArn") as string | undefined,
    metricsNamespace: top("metricsNamespace") as string | undefined,
    operatorPrincipalArns: top("operatorPrincipalArns") as string[] | undefined,
    runbookUrl: top("runbookUrl") as string | undefined,
    dashboard: top("dashboard") as boolean | undefined,
    credentials,
  };
}

/**
 * One credential with `defaults` merged in: a default applies only to the credentials whose dialect
 * uses it. The rules across settings (lambda/config/rules.ts) run on the merged values, each problem
 * named by the field as written in the entry or in `defaults`.
 */
function crossCheck(entry: Raw, defaults: Raw, path: string, problems: string[]): CredentialConfig | undefined {
  const dialect = (entry.dialect ?? defaults.dialect ?? setting("dialect").default) as DialectName;
  const applies = ([key]: [string, unknown]) => {
    const uses = setting(PER_CREDENTIAL.get(key)!).dialects;
    return !uses || uses.includes(dialect);
  };
  const merged: Raw = { dialect, ...Object.fromEntries(Object.entries(defaults).filter(applies)), ...entry };
  const before = problems.length;
  for (const [arnKey, nameKey] of Object.values(SECRET_FIELDS)) {
    if (merged[arnKey] !== undefined && merged[nameKey] !== undefined) problems.push(`${path}${arnKey} and ${nameKey} are mutually exclusive`);
  }
  if (problems.length > before) return undefined;

  const values: Record<string, unknown> = {};
  const jsonKeyOf = new Map<SettingField, string>();
  for (const [key, value] of Object.entries(merged)) {
    const field = PER_CREDENTIAL.get(key)!;
    values[field] = canonical(setting(field).json!, value);
    jsonKeyOf.set(field, key);
  }
  for (const [field, keys] of Object.entries(SECRET_FIELDS) as [SettingField, readonly string[]][]) {
    const key = keys.find((k) => merged[k] !== undefined);
    if (key) {
      values[field] = merged[key];
      jsonKeyOf.set(field, key);
    }
  }
  const stackFields: SettingField[] = ["scheduleIntervalSeconds", "refreshWindowSeconds", "accessTokenTtlThresholdSeconds", "timeoutSeconds"];
  const where = (field: SettingField) => {
    const key = jsonKeyOf.get(field) ?? setting(field).json?.field ?? field;
    return key in entry || !(key in defaults) ? `${path}${key}` : `defaults.${key}`;
  };
  for (const { field, problem } of settingProblems(withDefaults(values, stackFields))) {
    const key = jsonKeyOf.get(field);
    problems.push(`${where(field)} ${problem}${key === undefined ? "" : `, got ${show(merged[key])}`}`);
  }
  return problems.length > before ? undefined : (merged as unknown as CredentialConfig);
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
