import { parseArgs, type ParseArgsConfig } from "node:util";
import { GetFunctionConfigurationCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { createAwsClients, type AwsClients } from "../../lambda/aws-clients.js";
import { AwsClock } from "../../lambda/clock.js";
import { loadConfig, type RefresherConfig } from "../../lambda/config.js";
import { WriteProtocol, type ProtocolClients } from "../../lambda/protocol/write-protocol.js";
import { WRITE_GRACE_MS } from "../../lambda/settings.js";
import { CliError } from "./errors.js";
import type { CliIo, Env } from "./io.js";

export const COMMANDS = ["init", "status", "refresh", "check", "pause", "resume"] as const;
export type CommandName = (typeof COMMANDS)[number];

type OptionSpec = NonNullable<ParseArgsConfig["options"]>[string];

/** Flags that stand for the Lambda's environment variables (flags win). */
const ENV_FLAGS = {
  credential: "CREDENTIAL_NAME",
  dialect: "TOKEN_DIALECT",
  "client-secret-id": "CLIENT_SECRET_ID",
  "token-secret-id": "TOKEN_SECRET_ID",
  "state-table": "STATE_TABLE_NAME",
  endpoint: "ENDPOINT_URL",
  "refresh-window": "REFRESH_WINDOW_SECONDS",
  "event-bus": "EVENT_BUS_NAME",
  region: "AWS_REGION",
} as const;

const OPTIONS = {
  help: { type: "boolean", short: "h" },
  version: { type: "boolean" },
  function: { type: "string" },
  ...Object.fromEntries(Object.keys(ENV_FLAGS).map((flag) => [flag, { type: "string" }])),
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

const GLOBAL: readonly OptionName[] = ["help", "version", "function", ...(Object.keys(ENV_FLAGS) as OptionName[])];
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
  for (const [flag, variable] of Object.entries(ENV_FLAGS)) {
    const value = values[flag as OptionName];
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

export function secretsClient(io: CliIo, env: Env): SecretsManagerClient {
  return io.secrets ?? new SecretsManagerClient(awsClientConfig(env));
}

/** The AWS clients of a refresh run from the command line: built as the Lambda builds them, with a clock of their own. */
export interface RunClients extends AwsClients {
  readonly clock: AwsClock;
  /** Closes the connections of the clients built here (not the test seams). */
  destroy(): void;
}

export function runClients(io: CliIo, env: Env, config: RefresherConfig): RunClients {
  const clock = new AwsClock(io.now);
  const built = createAwsClients(config.awsRequestTimeoutMs, clock, awsClientConfig(env));
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
export function writeProtocol(config: RefresherConfig, clients: ProtocolClients, clock: AwsClock, localNow: () => number = Date.now): WriteProtocol {
  return new WriteProtocol(config, clients, clock, {
    leaseMs: config.leaseSeconds * 1000,
    invocationEndsAt: localNow() + config.runBudgetMs + WRITE_GRACE_MS,
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
    throw new CliError("the AWS region is not set", "config", "set AWS_REGION or pass --region");
  } finally {
    client.destroy();
  }
}

export function awsClientConfig(env: Env): { region?: string; endpoint?: string } {
  const region = env.AWS_REGION?.trim() || env.AWS_DEFAULT_REGION?.trim();
  const endpoint = env.AWS_ENDPOINT_URL?.trim();
  return { ...(region && { region }), ...(endpoint && { endpoint }) };
}

/** The refresher's own variables, as the stack sets them on the function. */
export const REFRESHER_VARIABLES = [
  "CREDENTIAL_NAME",
  "TOKEN_DIALECT",
  "CLIENT_SECRET_ID",
  "TOKEN_SECRET_ID",
  "STATE_TABLE_NAME",
  "ENDPOINT_URL",
  "OAUTH2_TOKEN_PATH",
  "DEFAULT_EXPIRES_IN_SECONDS",
  "REFRESH_WINDOW_SECONDS",
  "HTTP_TIMEOUT_MS",
  "RUN_BUDGET_MS",
  "LEASE_SECONDS",
  "AWS_REQUEST_TIMEOUT_MS",
  "SCHEDULE_RULE_NAME",
  "ALARM_NAMES",
  "METRICS_NAMESPACE",
  "EVENT_BUS_NAME",
] as const;

/**
 * `--function NAME`: takes the refresher's variables from the deployed function's configuration,
 * so the CLI runs with exactly what the Lambda runs with. Flags still win; the shell's variables lose.
 */
export async function withFunctionConfig(args: ParsedArgs, io: CliIo): Promise<ParsedArgs> {
  const name = stringOption(args, "function");
  if (!name) return args;
  const client = io.lambda ?? new LambdaClient(awsClientConfig(args.env));
  try {
    const answer = await client.send(new GetFunctionConfigurationCommand({ FunctionName: name }));
    const variables = answer.Environment?.Variables ?? {};
    const picked: Record<string, string> = {};
    for (const variable of REFRESHER_VARIABLES) if (variables[variable] !== undefined) picked[variable] = variables[variable];
    if (!picked.TOKEN_SECRET_ID) throw new CliError(`function ${name} has no TOKEN_SECRET_ID variable: is it a token-refresher function?`, "config");
    return { ...args, env: { ...io.env, ...picked, ...args.overlay } };
  } finally {
    if (!io.lambda && client instanceof LambdaClient) client.destroy();
  }
}
