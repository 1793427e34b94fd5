// What every fleet command works with: the fleet's settings (from the worker function with
// `--function`, or the shell's variables and flags), the credential it names, and its AWS clients.
import { RUNTIME_FIELDS, readSettings, runtimeFromValues, variableOf, type RuntimeSettings, type SettingField } from "../../../lambda/config/index.js";
import { FLEET_SETTINGS, setting, type FleetField } from "../../../lambda/config/table.js";
import { valueProblem } from "../../../lambda/config/values.js";
import { CliError } from "../errors.js";
import type { CliIo } from "../io.js";
import { runClients, stringOption, writeProtocol, type ParsedArgs, type RunClients } from "../settings.js";
import { fleetSecretName, type FleetCredentialRef, type FleetSecretKind } from "../../../lambda/fleet/schema.js";
import type { WriteProtocol } from "../../../lambda/protocol/write-protocol.js";
import { Registry } from "../../../lambda/fleet/registry.js";

export interface FleetSettings {
  readonly fleetName: string;
  readonly registryTableName: string;
  readonly secretNamePrefix: string;
  /** Needed by `fleet add` (the secrets' resource policies). */
  readonly runRoleArn?: string;
  readonly operatorPrincipalArns: readonly string[];
  readonly runtime: RuntimeSettings;
}

const FLEET_FIELDS = Object.keys(FLEET_SETTINGS) as FleetField[];
/** What a fleet command reads: the fleet's settings, a run's runtime settings, and who may touch the secrets. */
const READ: readonly SettingField[] = [...FLEET_FIELDS, ...RUNTIME_FIELDS, "operatorPrincipalArns"];
const ALWAYS_REQUIRED: readonly SettingField[] = ["fleetName", "registryTableName", "stateTableName"];

/** The fleet's settings, read and checked as the worker reads them; `required` on top of the fleet, its registry and the state table. */
export function fleetSettings(args: ParsedArgs, required: readonly SettingField[] = []): FleetSettings {
  const values = readSettings(args.env, READ, [...ALWAYS_REQUIRED, ...required]);
  return {
    fleetName: values.fleetName as string,
    registryTableName: values.registryTableName as string,
    secretNamePrefix: values.secretNamePrefix as string,
    ...(values.runRoleArn !== undefined && { runRoleArn: values.runRoleArn as string }),
    operatorPrincipalArns: (values.operatorPrincipalArns as string[] | undefined) ?? [],
    runtime: runtimeFromValues(values),
  };
}

/**
 * The credential a fleet command acts on: `--credential` only, never a shell variable left from
 * another credential (a `remove` must name what it removes).
 */
export function credentialOption(args: ParsedArgs): string {
  const name = args.overlay[variableOf("name")]?.trim();
  if (!name) throw new CliError("--credential is required: the name of the fleet's credential", "usage", "token-refresher fleet list shows them");
  const problem = valueProblem(setting("name").value, name);
  if (problem) throw new CliError(`--credential ${problem}`, "config");
  return name;
}

export function credentialRef(settings: FleetSettings, credential: string): FleetCredentialRef {
  return { fleetName: settings.fleetName, secretNamePrefix: settings.secretNamePrefix, credential };
}

export function secretNames(ref: FleetCredentialRef): Record<FleetSecretKind, string> {
  return { client: fleetSecretName(ref, "client"), token: fleetSecretName(ref, "token") };
}

/** The fleet command's clients: those of a run (one AWS clock over them), and the registry. */
export interface FleetClients extends RunClients {
  readonly registry: Registry;
}

export async function withFleetClients<T>(args: ParsedArgs, io: CliIo, settings: FleetSettings, use: (clients: FleetClients) => Promise<T>): Promise<T> {
  const clients = runClients(io, args.env, settings.runtime);
  try {
    return await use({ ...clients, registry: new Registry(clients.dynamodb, settings.registryTableName) });
  } finally {
    clients.destroy();
  }
}

/** The write protocol over one fleet credential's token secret and state item. */
export function fleetProtocol(settings: FleetSettings, clients: FleetClients, credential: string, tokenSecretId: string, io: CliIo): WriteProtocol {
  return writeProtocol({ credential: { name: credential, tokenSecretId }, runtime: settings.runtime }, clients, clients.clock, io.now);
}

/** The command line that runs a fleet command again for the same credential. */
export function sameFleetCommand(command: string, args: ParsedArgs, credential: string, extra = ""): string {
  const fn = stringOption(args, "function");
  return `token-refresher fleet ${command} --credential ${credential}${fn ? ` --function ${fn}` : ""}${extra}`;
}
