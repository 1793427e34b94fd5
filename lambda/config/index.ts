// A credential's spec and a run's runtime settings, built from a plain object or from the environment
// (Lambda, CLI, `npm start`) and written back as a function's environment, all through the settings
// table (./table.ts) and the one rule set (./rules.ts). See docs/configuration.md.
import { ConfigError } from "../errors.js";
import type { DialectName, OAuth2ClientAuth, OAuth2DialectName } from "../settings.js";
import { settingProblems, withDefaults, type SettingProblem, type SettingValues } from "./rules.js";
import { CREDENTIAL_SETTINGS, RUNTIME_SETTINGS, SETTINGS, setting, type CredentialField, type FleetField, type RuntimeField, type SettingField } from "./table.js";
import { formatText, parseText } from "./values.js";

export { oauth2TokenUrl, leaseSecondsFor, runBudgetMsFor, settingProblems, withDefaults, type SettingProblem, type SettingValues } from "./rules.js";
export { FUNCTION_VARIABLES, SETTINGS, SETTING_VARIABLES, setting, type SettingField } from "./table.js";

interface CommonSpec {
  /** The `Credential` metric dimension, the events' `credential` and the key of its state item. */
  readonly name: string;
  /** Secrets Manager id (name or ARN) of the client secret (read only). */
  readonly clientSecretId: string;
  /** Secrets Manager id (name or ARN) of the token secret (read and written). */
  readonly tokenSecretId: string;
  /** Base URL of the token API. */
  readonly endpointUrl: string;
  /** Refresh when the access token has this many seconds left or fewer. */
  readonly refreshWindowSeconds: number;
}

export interface IotCredentialSpec extends CommonSpec {
  readonly dialect: "iot";
}

export interface OAuth2CredentialSpec extends CommonSpec {
  readonly dialect: OAuth2DialectName;
  /** Token path (resolved against `endpointUrl`) or absolute URL. */
  readonly oauth2TokenPath: string;
  /** Lifetime assumed when a token answer has no `expires_in`. */
  readonly oauth2DefaultExpiresInSeconds: number;
  /** Unset: the client secret's `clientAuth`, else client_secret_post. */
  readonly oauth2ClientAuth?: OAuth2ClientAuth;
  /** Sent with every grant; the client secret's `scope` overrides it. */
  readonly oauth2Scope?: string;
  /** Sent with every grant; the client secret's `audience` overrides it. */
  readonly oauth2Audience?: string;
}

/** One credential, validated: what `runRefresh` takes per call and what a fleet stores as data. */
export type CredentialSpec = IotCredentialSpec | OAuth2CredentialSpec;

/** What a run needs besides its credential (the deployment's settings). */
export interface RuntimeSettings {
  /** DynamoDB table holding each credential's lease and state (docs/protocol.md). */
  readonly stateTableName: string;
  /** Timeout of one HTTP attempt against the token API. */
  readonly httpTimeoutMs: number;
  /** The whole run (all attempts and backoff) ends within this budget. */
  readonly runBudgetMs: number;
  /** A run's lease; a crashed run's lease expires after this. */
  readonly leaseSeconds: number;
  /** Timeout of one AWS request, so a hung call cannot outlast the run. */
  readonly awsRequestTimeoutMs: number;
  readonly metricsNamespace: string;
  /** Bus for `Token Refreshed` / `Token Refresh Failed`; empty disables events. */
  readonly eventBusName: string;
  /** Emit the run-count and duration metrics besides the ones alarms use (docs/cost.md). */
  readonly detailedMetrics: boolean;
  /** Emit `RefreshTokenTtl` only below this many seconds left; unset: always. */
  readonly refreshTokenTtlReportBelowSeconds?: number;
  /** The credential's schedule rule (dedicated deployments; `pause`/`resume`). */
  readonly scheduleRuleName?: string;
  /** The credential's alarms (dedicated deployments; `pause`/`resume`). */
  readonly alarmNames?: readonly string[];
}

/** A fleet function's own settings (docs/fleet.md, "Runtime settings"). */
export interface FleetSettings {
  /** The `Fleet` metric dimension and the tag on the fleet's secrets. */
  readonly fleetName: string;
  /** DynamoDB table of the fleet's credentials and of its write budget. */
  readonly registryTableName: string;
  /** The work queue (the scheduler sends to it). */
  readonly workQueueUrl?: string;
  /** The role a worker assumes for one credential's run. */
  readonly runRoleArn?: string;
  readonly secretNamePrefix: string;
  /** Secrets Manager writes per second the fleet may use. */
  readonly writeBudgetPerSecond: number;
  /** A credential with less than this left on its stored access token, late for its run, is overdue. */
  readonly overdueThresholdSeconds: number;
}

/** The settings a fleet function needs of its own, besides the fleet's name and registry. */
export type FleetFunctionSetting = "workQueueUrl" | "runRoleArn";

export interface FleetConfig<R extends FleetFunctionSetting = never> {
  readonly fleet: FleetSettings & Required<Pick<FleetSettings, R>>;
  /** The runtime settings every run has; both fleet functions carry them. */
  readonly runtime: RuntimeSettings;
}

export interface RefresherConfig {
  readonly credential: CredentialSpec;
  readonly runtime: RuntimeSettings;
}

export const CREDENTIAL_FIELDS = Object.keys(CREDENTIAL_SETTINGS) as CredentialField[];
export const RUNTIME_FIELDS = Object.keys(RUNTIME_SETTINGS) as RuntimeField[];
const REQUIRED_CREDENTIAL = CREDENTIAL_FIELDS.filter((field) => setting(field).required);
const REQUIRED_RUNTIME = RUNTIME_FIELDS.filter((field) => setting(field).required);

/**
 * A spec from values the rule set has checked, defaults applied (only the fields its dialect uses).
 * The construct uses it directly: secret ids and the table name are deploy-time tokens there.
 */
export function credentialFromValues(values: SettingValues): CredentialSpec {
  const common: CommonSpec = {
    name: values.name as string,
    clientSecretId: values.clientSecretId as string,
    tokenSecretId: values.tokenSecretId as string,
    endpointUrl: (values.endpointUrl as string).replace(/\/+$/, ""),
    refreshWindowSeconds: values.refreshWindowSeconds as number,
  };
  const dialect = values.dialect as DialectName;
  if (dialect === "iot") return { ...common, dialect };
  const optional = <F extends "oauth2ClientAuth" | "oauth2Scope" | "oauth2Audience">(field: F) =>
    values[field] === undefined ? {} : ({ [field]: values[field] } as Record<F, OAuth2CredentialSpec[F]>);
  return {
    ...common,
    dialect,
    oauth2TokenPath: values.oauth2TokenPath as string,
    oauth2DefaultExpiresInSeconds: values.oauth2DefaultExpiresInSeconds as number,
    ...optional("oauth2ClientAuth"),
    ...optional("oauth2Scope"),
    ...optional("oauth2Audience"),
  };
}

/** Runtime settings from values the rule set has checked, defaults applied. */
export function runtimeFromValues(values: SettingValues): RuntimeSettings {
  return Object.fromEntries(RUNTIME_FIELDS.filter((field) => values[field] !== undefined).map((field) => [field, values[field]])) as unknown as RuntimeSettings;
}

/**
 * Checks a credential given as a plain object (canonical units: `refreshWindowSeconds`, …; e.g. a
 * fleet registry item or a CLI's input): every problem by field, and the keys that are no credential
 * setting. Returns the spec when there is none.
 */
export function checkCredential(plain: Readonly<Record<string, unknown>>): { credential?: CredentialSpec; problems: SettingProblem[]; unknownFields: string[] } {
  const unknownFields = Object.keys(plain).filter((key) => !(key in CREDENTIAL_SETTINGS));
  const given = Object.fromEntries(Object.entries(plain).filter(([key, value]) => key in CREDENTIAL_SETTINGS && value !== undefined)) as SettingValues;
  const problems = settingProblems(given, REQUIRED_CREDENTIAL);
  if (problems.length > 0 || unknownFields.length > 0) return { problems, unknownFields };
  return { credential: credentialFromValues(withDefaults(given, CREDENTIAL_FIELDS)), problems, unknownFields };
}

/** A credential spec from a plain object, or a ConfigError naming every bad field. */
export function credentialSpec(plain: Readonly<Record<string, unknown>>): CredentialSpec {
  const { credential, problems, unknownFields } = checkCredential(plain);
  if (credential) return credential;
  const lines = [...problems.map(({ field, problem }) => `${field} ${problem}`), ...unknownFields.map((key) => `${key} is not a credential setting`)];
  throw new ConfigError(`invalid credential: ${lines.join("; ")}`, problems);
}

/** Runtime settings from a plain object (canonical units), checked, defaults applied; or a ConfigError naming every bad field. */
export function runtimeSettings(plain: Partial<Record<RuntimeField, unknown>>): RuntimeSettings {
  const given = Object.fromEntries(Object.entries(plain).filter(([, value]) => value !== undefined)) as SettingValues;
  const filled = withDefaults(given, RUNTIME_FIELDS);
  const problems = settingProblems(filled, REQUIRED_RUNTIME);
  if (problems.length > 0) throw new ConfigError(`invalid runtime settings: ${problems.map(({ field, problem }) => `${field} ${problem}`).join("; ")}`, problems);
  return runtimeFromValues(filled);
}

type Env = Readonly<Record<string, string | undefined>>;

/** The variable that carries `field` (every credential and runtime setting has one). */
export function variableOf(field: SettingField): string {
  const variable = setting(field).env;
  if (!variable) throw new Error(`setting ${field} has no environment variable`);
  return variable;
}

/** The environment's text for `field`: undefined when unset (empty counts as unset unless the setting gives empty a meaning). */
export function environmentText(env: Env, field: SettingField): string | undefined {
  const { env: variable, emptyAllowed } = setting(field);
  const raw = variable === undefined ? undefined : env[variable];
  if (raw === undefined) return undefined;
  const text = raw.trim();
  return text === "" && !emptyAllowed ? undefined : text;
}

/** Reads `fields` from the environment: their values, and a problem for each text that is not a value. */
function readEnvironment(env: Env, fields: readonly SettingField[]): { values: SettingValues; problems: SettingProblem[] } {
  const values: Record<string, unknown> = {};
  const problems: SettingProblem[] = [];
  for (const field of fields) {
    const text = environmentText(env, field);
    if (text === undefined) continue;
    const parsed = parseText(SETTINGS[field].value, text);
    if ("problem" in parsed) problems.push({ field, problem: parsed.problem });
    else values[field] = parsed.value;
  }
  return { values, problems };
}

/**
 * Some settings from the environment, checked by the same rules and with the same defaults as
 * {@link loadConfig}, for commands that need only a few (the CLI's `status`, `check`).
 */
export function readSettings(env: Env, fields: readonly SettingField[], required: readonly SettingField[] = []): SettingValues {
  const { values, problems } = readEnvironment(env, fields);
  const filled = withDefaults(values, fields);
  problems.push(...settingProblems(filled, required.filter((field) => !problems.some((p) => p.field === field))));
  if (problems.length > 0) throw environmentError(problems, env);
  return filled;
}

/**
 * The credential and runtime settings from the environment (the Lambda's, or the CLI's with its
 * flags applied). Any problem fails with a ConfigError naming every bad variable.
 */
export function loadConfig(env: Env = process.env): RefresherConfig {
  const fields = [...CREDENTIAL_FIELDS, ...RUNTIME_FIELDS];
  const { values, problems } = readEnvironment(env, fields);
  const unreadable = new Set(problems.map((p) => p.field));
  const filled = withDefaults(values, fields);
  problems.push(...settingProblems(filled, [...REQUIRED_CREDENTIAL, ...REQUIRED_RUNTIME].filter((field) => !unreadable.has(field))));
  if (problems.length > 0) throw environmentError(problems, env);
  return { credential: credentialFromValues(filled), runtime: runtimeFromValues(filled) };
}

const FLEET_FUNCTION_FIELDS = ["fleetName", "registryTableName", "workQueueUrl", "runRoleArn", "secretNamePrefix", "writeBudgetPerSecond", "overdueThresholdSeconds"] as const satisfies readonly FleetField[];

/**
 * A fleet function's settings from its environment (the scheduler requires `workQueueUrl`, the
 * worker `runRoleArn`), checked by the same rules and with the same defaults as {@link loadConfig}.
 * Any problem fails with a ConfigError naming every bad variable.
 */
export function loadFleetConfig<R extends FleetFunctionSetting>(required: readonly R[], env: Env = process.env): FleetConfig<R> {
  const values = readSettings(env, [...FLEET_FUNCTION_FIELDS, ...RUNTIME_FIELDS], ["fleetName", "registryTableName", ...required, ...REQUIRED_RUNTIME]);
  const fleet = Object.fromEntries(FLEET_FUNCTION_FIELDS.filter((field) => values[field] !== undefined).map((field) => [field, values[field]]));
  return { fleet: fleet as unknown as FleetConfig<R>["fleet"], runtime: runtimeFromValues(values) };
}

/** A ConfigError naming each problem's variable and, where it helps, the text it holds. */
function environmentError(problems: readonly SettingProblem[], env: Env): ConfigError {
  const lines = problems.map(({ field, problem }) => {
    const text = environmentText(env, field);
    // A URL may carry credentials (the problem says so); no other setting holds a secret.
    const shown = text === undefined || problem === "is required" || setting(field).value.kind === "https-url" ? "" : `, got "${text}"`;
    return `environment variable ${variableOf(field)} ${problem}${shown}`;
  });
  return new ConfigError(lines.join("; "), problems);
}

/** The environment that configures a run of `credential` with `runtime`: what the construct gives its function. */
export function functionEnvironment(credential: CredentialSpec, runtime: RuntimeSettings): Record<string, string> {
  return settingsEnvironment({ ...credential, ...runtime }, [...CREDENTIAL_FIELDS, ...RUNTIME_FIELDS]);
}

/**
 * The variables that carry `fields` of `values`, as the environment parser reads them back (unset
 * and empty lists left out): how a construct configures its functions (e.g. a fleet's, docs/fleet.md).
 */
export function settingsEnvironment(values: SettingValues, fields: readonly SettingField[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const field of fields) {
    const value = values[field];
    if (value === undefined || (Array.isArray(value) && value.length === 0)) continue;
    env[variableOf(field)] = formatText(value as string);
  }
  return env;
}
