import { parseArgs, type ParseArgsConfig } from "node:util";
import { GetFunctionConfigurationCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { createAwsClients, type AwsClients } from "../../lambda/aws-clients.js";
import { AwsClock } from "../../lambda/clock.js";
import {
  SETTING_VARIABLES,
  environmentText,
  loadConfig,
  readSettings,
  variableOf,
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

export const COMMANDS = ["init", "status", "refresh", "check", "pause", "resume"] as const;
export type CommandName = (typeof COMMANDS)[number];

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

const GLOBAL: readonly string[] = ["help", "version", "function", ...SETTING_FLAGS.map(({ flag: name }) => name)];
const PER_COMMAND: Readonly<Record<CommandName, readonly OptionName[]>> = {
  init: ["client-secret-file", "refresh-token-file", "ca-cert-file", "client-cert-file", "client-key-file", "replace", "force", "json", "verbose"],
  status: ["json"],
  refresh: ["force", "json", "verbose"],
  check: ["timeout", "json"],
  pause: ["json"],
  resume: ["json", "verbose"],
};

export interface ParsedArgs {
  readonly command?: CommandName;
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
  const [first, ...extra] = parsed.positionals;
  if (first !== undefined && !(COMMANDS as readonly string[]).includes(first)) {
    const shown = /^[a-z][a-z-]{0,20}$/.test(first) ? `"${first}"` : "(not shown)";
    throw new CliError(`unknown command ${shown}`, "usage", `commands: ${COMMANDS.join(", ")}; see token-refresher --help`);
  }
  const command = first as CommandName | undefined;
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
    if (command && !GLOBAL.includes(option) && !PER_COMMAND[command].includes(option)) {
      throw new CliError(`option --${option} does not apply to "${command}"`, "usage", `see token-refresher ${command} --help`);
    }
    values[option] = value;
  }
  const overlay: Record<string, string> = {};
  for (const { flag: name, variable } of SETTING_FLAGS) {
    const value = values[name as OptionName];
    if (typeof value === "string") overlay[variable] = value;
  }
  return { command, values, env: { ...env, ...overlay }, overlay };
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
export function writeProtocol({ credential, runtime }: RefresherConfig, clients: ProtocolClients, clock: AwsClock, localNow: () => number = Date.now): WriteProtocol {
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
 * `--function NAME`: takes every setting variable (the settings table) from the deployed function's
 * configuration, so the CLI runs with exactly what the Lambda runs with. A setting variable of the
 * shell is dropped, also where the function has none (it would run differently from the Lambda);
 * flags still win.
 */
export async function withFunctionConfig(args: ParsedArgs, io: CliIo): Promise<ParsedArgs> {
  const name = stringOption(args, "function");
  if (!name) return args;
  const client = io.lambda ?? new LambdaClient(awsClientConfig(args.env));
  try {
    const answer = await client.send(new GetFunctionConfigurationCommand({ FunctionName: name }));
    const variables = answer.Environment?.Variables ?? {};
    const ours = new Set(SETTING_VARIABLES);
    const picked = Object.fromEntries(Object.entries(variables).filter(([variable]) => ours.has(variable)));
    const tokenSecretVariable = variableOf("tokenSecretId");
    if (!picked[tokenSecretVariable]) throw new CliError(`function ${name} has no ${tokenSecretVariable} variable: is it a token-refresher function?`, "config");
    const shell = Object.fromEntries(Object.entries(io.env).filter(([variable]) => !ours.has(variable)));
    return { ...args, env: { ...shell, ...picked, ...args.overlay } };
  } finally {
    if (!io.lambda && client instanceof LambdaClient) client.destroy();
  }
}
