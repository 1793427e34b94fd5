import { parseArgs, type ParseArgsConfig } from "node:util";
import { GetFunctionConfigurationCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { createAwsClients, type AwsClients } from "../../lambda/aws-clients.js";
import { AwsClock } from "../../lambda/clock.js";
import {
  FUNCTION_VARIABLES,
  environmentText,
  loadConfig,
  readSettings,
  variableOf,
  type CredentialSpec,
  type RefresherConfig,
  type RuntimeSettings,
  type SettingField,
  type SettingValues,
} from "../../lambda/config/index.js";
import { ENV_SETTINGS, setting } from "../../lambda/config/table.js";
import { WriteProtocol, type ProtocolClients } from "../../lambda/protocol/write-protocol.js";
import { WRITE_GRACE_MS } from "../../lambda/settings.js";
import { CliError } from "./errors.js";
import type { CliIo, Env } from "./io.js";

export const COMMANDS = ["init", "status", "refresh", "check", "pause", "resume", "fleet"] as const;
/** `token-refresher fleet <command>`: a fleet's credentials as data (docs/fleet.md). */
export const FLEET_COMMANDS = ["add", "list", "show", "remove", "pause", "resume"] as const;
export type FleetCommandName = `fleet ${(typeof FLEET_COMMANDS)[number]}`;
/** A command that runs: a top-level one, or a fleet one. */
export type CommandName = Exclude<(typeof COMMANDS)[number], "fleet"> | FleetCommandName;
/** What help is printed for: a command, or the fleet commands together. */
export type HelpTopic = CommandName | "fleet";

export function isFleetCommand(command: HelpTopic | undefined): command is FleetCommandName | "fleet" {
  return command !== undefined && command.split(" ")[0] === "fleet";
}

type OptionSpec = NonNullable<ParseArgsConfig["options"]>[string];

/** Flags that stand for settings (the settings table, docs/configuration.md): each sets its setting's variable; flags win. */
export const SETTING_FLAGS: readonly { readonly flag: string; readonly field: SettingField; readonly variable: string }[] = ENV_SETTINGS.flatMap(([field, variable]) => {
  const flagName = setting(field).flag;
  return flagName ? [{ flag: flagName, field, variable }] : [];
});

const OPTIONS = {
  help: { type: "boolean", short: "h" },
  version: { type: "boolean" },
  function: { type: "string" },
  ...Object.fromEntries(SETTING_FLAGS.map(({ flag: name }) => [name, { type: "string" }])),
  json: { type: "boolean" },
  verbose: { type: "boolean", short: "v" },
  force: { type: "boolean" },
  replace: { type: "boolean" },
  "client-secret-file": { type: "string" },
  "refresh-token-file": { type: "string" },
  "ca-cert-file": { type: "string" },
  "client-cert-file": { type: "string" },
  "client-key-file": { type: "string" },
  timeout: { type: "string" },
} satisfies Record<string, OptionSpec>;

export type OptionName = keyof typeof OPTIONS;

const GLOBAL: readonly string[] = ["help", "version", "function"];
const CLIENT_SECRET_FILES: readonly OptionName[] = ["client-secret-file", "refresh-token-file", "ca-cert-file", "client-cert-file", "client-key-file"];
const PER_COMMAND: Readonly<Record<HelpTopic, readonly OptionName[]>> = {
  init: [...CLIENT_SECRET_FILES, "replace", "force", "json", "verbose"],
  status: ["json"],
  refresh: ["force", "json", "verbose"],
  check: ["timeout", "json"],
  pause: ["json"],
  resume: ["json", "verbose"],
  fleet: [],
  "fleet add": [...CLIENT_SECRET_FILES, "json"],
  "fleet list": ["json"],
  "fleet show": ["json"],
  "fleet remove": ["force", "json"],
  "fleet pause": ["json"],
  "fleet resume": ["json"],
};

/** The credential settings `fleet add` takes as flags: the spec it registers (the secrets' ids it derives itself). */
export const FLEET_ADD_CREDENTIAL_FIELDS: readonly SettingField[] = SETTING_FLAGS.flatMap(({ field }) =>
  setting(field).group === "credential" && field !== "clientSecretId" && field !== "tokenSecretId" ? [field] : [],
);

/** The setting flags every fleet command takes: the fleet's, its state table, and the shell's region. */
export const FLEET_SETTING_FLAG_FIELDS: readonly SettingField[] = SETTING_FLAGS.flatMap(({ field }) => {
  const { group } = setting(field);
  return group === "fleet" || group === "cli" || field === "stateTableName" ? [field] : [];
});

/**
 * Whether the flag of `field` applies to `command`. The dedicated commands take every setting flag
 * but the fleet's. The fleet commands take {@link FLEET_SETTING_FLAG_FIELDS}; of the credential
 * settings, `fleet add` the spec it registers, and the commands that act on one credential its name.
 */
function settingFlagApplies(command: HelpTopic, field: SettingField): boolean {
  if (!isFleetCommand(command)) return setting(field).group !== "fleet";
  if (FLEET_SETTING_FLAG_FIELDS.includes(field)) return true;
  if (command === "fleet add") return FLEET_ADD_CREDENTIAL_FIELDS.includes(field);
  return field === "name" && command !== "fleet list" && command !== "fleet";
}

function optionApplies(command: HelpTopic, option: OptionName): boolean {
  if (GLOBAL.includes(option) || PER_COMMAND[command].includes(option)) return true;
  const settingFlag = SETTING_FLAGS.find(({ flag: name }) => name === option);
  return settingFlag !== undefined && settingFlagApplies(command, settingFlag.field);
}

export interface ParsedArgs {
  /** The command to run, or "fleet" alone (its help only). */
  readonly command?: HelpTopic;
  readonly values: Readonly<Partial<Record<OptionName, string | boolean>>>;
  /** The environment with the flags applied (and, after {@link withFunctionConfig}, the function's variables under them). */
  readonly env: Env;
  /** The variables the flags set. */
  readonly overlay: Env;
}

export function parseCommandLine(argv: readonly string[], env: Env): ParsedArgs {
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    // parseArgs messages name the option, never its value beyond what the user typed as a flag.
    const message = error instanceof Error ? error.message.split("\n")[0]! : String(error);
    throw new CliError(message.replace(/\. To specify a positional argument.*$/, ""), "usage", "see token-refresher --help");
  }
  const [first, ...rest] = parsed.positionals;
  if (first !== undefined && !(COMMANDS as readonly string[]).includes(first)) {
    throw new CliError(`unknown command ${shownWord(first)}`, "usage", `commands: ${COMMANDS.join(", ")}; see token-refresher --help`);
  }
  let command = first as HelpTopic | undefined;
  let extra = rest;
  if (first === "fleet" && rest.length > 0) {
    const [sub, ...more] = rest;
    if (!(FLEET_COMMANDS as readonly string[]).includes(sub!)) {
      throw new CliError(`unknown fleet command ${shownWord(sub!)}`, "usage", `fleet commands: ${FLEET_COMMANDS.join(", ")}; see token-refresher fleet --help`);
    }
    command = `fleet ${sub}` as FleetCommandName;
    extra = more;
  }
  if (extra.length > 0) {
    // Not echoed: a stray argument may well be a secret pasted in the wrong place.
    throw new CliError(
      `unexpected argument after "${first}" (not shown)`,
      "usage",
      "secrets and tokens are never taken from the command line: use --client-secret-file / --refresh-token-file (a path, or - for standard input)",
    );
  }
  const values: Partial<Record<OptionName, string | boolean>> = {};
  for (const [name, value] of Object.entries(parsed.values)) {
    if (value === undefined) continue;
    const option = name as OptionName;
    if (command && !optionApplies(command, option)) {
      throw new CliError(`option --${option} does not apply to "${command}"`, "usage", `see token-refresher ${command} --help`);
    }
    values[option] = value;
  }
  if (command === "fleet" && values.help !== true) {
    throw new CliError("fleet needs a command", "usage", `fleet commands: ${FLEET_COMMANDS.join(", ")}; see token-refresher fleet --help`);
  }
  const overlay: Record<string, string> = {};
  for (const { flag: name, variable } of SETTING_FLAGS) {
    const value = values[name as OptionName];
    if (typeof value === "string") overlay[variable] = value;
  }
  return { command, values, env: { ...env, ...overlay }, overlay };
}

/** A word the user typed, quoted when it looks like a command name; anything else may be a pasted secret. */
function shownWord(word: string): string {
  return /^[a-z][a-z-]{0,20}$/.test(word) ? `"${word}"` : "(not shown)";
}

export function stringOption(args: ParsedArgs, name: OptionName): string | undefined {
  const value = args.values[name];
  return typeof value === "string" ? value : undefined;
}

export function flag(args: ParsedArgs, name: OptionName): boolean {
  return args.values[name] === true;
}

/** The full refresher configuration, exactly as the Lambda reads it. */
export function fullConfig(env: Env): RefresherConfig {
  return loadConfig(env);
}

/** Some settings, read and checked as the Lambda reads them, for commands that need only those. */
export function someSettings(env: Env, fields: readonly SettingField[], required: readonly SettingField[] = []): SettingValues {
  return readSettings(env, fields, required);
}

export function secretsClient(io: CliIo, env: Env): SecretsManagerClient {
  return io.secrets ?? new SecretsManagerClient(awsClientConfig(env));
}

/** The AWS clients of a refresh run from the command line: built as the Lambda builds them, with a clock of their own. */
export interface RunClients extends AwsClients {
  readonly clock: AwsClock;
  /** Closes the connections of the clients built here (not the test seams). */
  destroy(): void;
}

export function runClients(io: CliIo, env: Env, runtime: Pick<RuntimeSettings, "awsRequestTimeoutMs">): RunClients {
  const clock = new AwsClock(io.now);
  const built = createAwsClients(runtime.awsRequestTimeoutMs, clock, awsClientConfig(env));
  const secrets = io.secrets ? clock.watch(io.secrets) : built.secrets;
  const events = io.events ?? built.events;
  return {
    clock,
    secrets,
    dynamodb: built.dynamodb,
    events,
    destroy: () => {
      if (!io.secrets) built.secrets.destroy();
      if (!io.events) built.events.destroy();
      built.dynamodb.destroy();
    },
  };
}

/**
 * The write protocol over clients that `clock` watches, for the commands (and `npm start`) that read
 * or write the token secret as the Lambda does, with the write time a CLI run allows.
 */
export function writeProtocol(
  { credential, runtime }: { readonly credential: Pick<CredentialSpec, "name" | "tokenSecretId">; readonly runtime: RuntimeSettings },
  clients: ProtocolClients,
  clock: AwsClock,
  localNow: () => number = Date.now,
): WriteProtocol {
  return new WriteProtocol({ tokenSecretId: credential.tokenSecretId, stateTableName: runtime.stateTableName, credentialName: credential.name }, clients, clock, {
    leaseMs: runtime.leaseSeconds * 1000,
    invocationEndsAt: localNow() + runtime.runBudgetMs + WRITE_GRACE_MS,
    localNow,
  });
}

/**
 * Fails before any AWS call when the SDK finds no region (variables, profile, instance metadata):
 * its own error says so only in its message, which the CLI does not read.
 */
export async function requireRegion(env: Env): Promise<void> {
  const client = new SecretsManagerClient(awsClientConfig(env));
  try {
    await client.config.region();
  } catch {
    throw new CliError("the AWS region is not set", "config", `set ${variableOf("region")} or pass --region`);
  } finally {
    client.destroy();
  }
}

export function awsClientConfig(env: Env): { region?: string; endpoint?: string } {
  const region = environmentText(env, "region") || env.AWS_DEFAULT_REGION?.trim();
  const endpoint = env.AWS_ENDPOINT_URL?.trim();
  return { ...(region && { region }), ...(endpoint && { endpoint }) };
}

/**
 * `--function NAME`: takes every credential and runtime setting (the settings table) from the
 * deployed function's configuration, so the CLI runs with exactly what the Lambda runs with. Such a
 * variable of the shell is dropped, also where the function has none (it would run differently from
 * the Lambda); the shell's region stays, and flags still win.
 */
export async function withFunctionConfig(args: ParsedArgs, io: CliIo): Promise<ParsedArgs> {
  const name = stringOption(args, "function");
  if (!name) return args;
  const client = io.lambda ?? new LambdaClient(awsClientConfig(args.env));
  try {
    const answer = await client.send(new GetFunctionConfigurationCommand({ FunctionName: name }));
    const variables = answer.Environment?.Variables ?? {};
    const ours = new Set(FUNCTION_VARIABLES);
    const picked = Object.fromEntries(Object.entries(variables).filter(([variable]) => ours.has(variable)));
    // A refresher function names its token secret; a fleet's worker function its registry.
    const [marker, kind] = isFleetCommand(args.command) ? [variableOf("registryTableName"), "fleet worker"] : [variableOf("tokenSecretId"), "refresher"];
    if (!picked[marker]) throw new CliError(`function ${name} has no ${marker} variable: is it a token-refresher ${kind} function?`, "config");
    const shell = Object.fromEntries(Object.entries(io.env).filter(([variable]) => !ours.has(variable)));
    return { ...args, env: { ...shell, ...picked, ...args.overlay } };
  } finally {
    if (!io.lambda && client instanceof LambdaClient) client.destroy();
  }
}
