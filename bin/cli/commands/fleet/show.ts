// `token-refresher fleet show --credential NAME`: the credential's registry item and its token's
// state, read through the write protocol's inspection as `status` reads a dedicated credential's.
// Never prints a token: the token's facts are presence flags and times.
import { credentialSpec } from "../../../../lambda/config/index.js";
import { inspectCredential } from "../../../../lambda/protocol/write-protocol.js";
import { usesRefreshToken } from "../../../../lambda/settings.js";
import { CliError, EXIT, type ExitCode } from "../../errors.js";
import type { CliIo } from "../../io.js";
import type { Output } from "../../output.js";
import type { ParsedArgs } from "../../settings.js";
import { clientSecretVersion, describe, renderStatus, type StatusAdvice } from "../status.js";
import { credentialOption, fleetSettings, sameFleetCommand, withFleetClients, type FleetSettings } from "../../fleet/context.js";
import { listed } from "./list.js";

export async function fleetShowCommand(args: ParsedArgs, io: CliIo, out: Output): Promise<ExitCode> {
  const settings = fleetSettings(args);
  const name = credentialOption(args);
  return withFleetClients(args, io, settings, async (clients) => {
    const item = await clients.registry.read(name);
    if (!item) throw notInFleet(settings, name);
    const registry = { ...listed(item), spec: item.spec, createdAt: iso(item.createdAt), createdBy: item.createdBy, pausedAt: iso(item.pausedAt), pausedBy: item.pausedBy };
    out.step("registry", registry, renderRegistry(settings, registry));
    const spec = credentialSpec(item.spec);
    const rules = { refreshWindowSeconds: spec.refreshWindowSeconds, usesRefreshToken: usesRefreshToken(spec.dialect) };
    const clientSecret = await clientSecretVersion(clients.secrets, spec.clientSecretId);
    const inspection = await inspectCredential(
      { tokenSecretId: spec.tokenSecretId, stateTableName: settings.runtime.stateTableName, credentialName: name },
      clients,
      clients.clock,
      rules,
      clientSecret,
    );
    const token = describe(inspection, rules, name);
    const exitCode = token.state === "valid" || token.state === "due" ? EXIT.ok : EXIT.failed;
    const advice: StatusAdvice = {
      noPair: "the fleet's next run obtains one (an oauth2 credential redeems its stored refresh token)",
      resume: sameFleetCommand("resume", args, name),
    };
    out.done({ fleet: settings.fleetName, credential: name, token, exitCode }, `token\n${indent(renderStatus(token, advice))}`);
    return exitCode;
  });
}

export function notInFleet(settings: FleetSettings, name: string): CliError {
  return new CliError(`no credential ${name} in fleet ${settings.fleetName} (registry ${settings.registryTableName})`, "config", "token-refresher fleet list shows the fleet's credentials");
}

const iso = (epochMs: number | undefined) => (epochMs === undefined ? undefined : new Date(epochMs).toISOString());
const indent = (text: string) => text.replace(/^(?=.)/gm, "  ");

function renderRegistry(settings: FleetSettings, registry: ReturnType<typeof listed> & { spec: object; createdAt?: string; createdBy?: string; pausedAt?: string; pausedBy?: string }): string {
  const rows: [string, string][] = [
    ["credential", `${registry.credential} (fleet ${settings.fleetName})`],
    ["status", registry.status],
    ["next due", registry.nextDue ?? "- (not in the due index)"],
    ...Object.entries(registry.spec).map(([field, value]): [string, string] => [field, String(value)]),
  ];
  if (registry.retryAt) rows.push(["retry at", registry.retryAt]);
  if (registry.lastOutcome) rows.push(["last outcome", `${registry.lastOutcome} (${registry.lastReason ?? "-"}) at ${registry.lastRunAt ?? "-"}`]);
  if (registry.createdAt) rows.push(["added", `${registry.createdAt} by ${registry.createdBy ?? "-"}`]);
  if (registry.pausedAt) rows.push(["paused", `${registry.pausedAt} by ${registry.pausedBy ?? "-"}`]);
  const width = Math.max(...rows.map(([label]) => label.length));
  return `registry\n${rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}\n`).join("")}`;
}
