// `token-refresher fleet list`: every credential of a fleet from its registry (all pages), with its
// status, when it is next due and its last outcome. Reads nothing but the registry: no secret.
import { setting } from "../../../../lambda/config/table.js";
import { EXIT, type ExitCode } from "../../errors.js";
import type { CliIo } from "../../io.js";
import type { Output } from "../../output.js";
import type { ParsedArgs } from "../../settings.js";
import { fleetSettings, withFleetClients } from "../../fleet/context.js";
import type { RegistryItem } from "../../../../lambda/fleet/registry.js";

/** One credential as `fleet list` shows it; times as ISO 8601 (AWS's clock). */
export interface ListedCredential {
  readonly credential: string;
  readonly status: string;
  readonly dialect: string;
  /** When a run should refresh it: "now" for a new credential; null while it is not in the due index (paused, removing). */
  readonly nextDue: string | null;
  readonly retryAt?: string;
  readonly lastOutcome?: string;
  readonly lastReason?: string;
  readonly lastRunAt?: string;
}

export async function fleetListCommand(args: ParsedArgs, io: CliIo, out: Output): Promise<ExitCode> {
  const settings = fleetSettings(args);
  return withFleetClients(args, io, settings, async ({ registry }) => {
    const credentials = (await registry.list()).map(listed);
    out.done(
      { fleet: settings.fleetName, registryTable: settings.registryTableName, count: credentials.length, credentials, exitCode: EXIT.ok },
      render(settings.fleetName, credentials),
    );
    return EXIT.ok;
  });
}

const iso = (epochMs: number | undefined) => (epochMs === undefined ? undefined : new Date(epochMs).toISOString());

export function listed(item: RegistryItem): ListedCredential {
  const optional = (key: keyof ListedCredential, value: string | undefined) => (value === undefined ? {} : { [key]: value });
  return {
    credential: item.credential,
    status: item.status,
    dialect: String(item.spec.dialect ?? setting("dialect").default),
    nextDue: item.dueShard === undefined ? null : item.nextDueAt === 0 ? "now" : iso(item.nextDueAt)!,
    ...optional("retryAt", iso(item.retryAt)),
    ...optional("lastOutcome", item.lastOutcome),
    ...optional("lastReason", item.lastReason),
    ...optional("lastRunAt", iso(item.lastRunAt)),
  };
}

function render(fleetName: string, credentials: readonly ListedCredential[]): string {
  const header = `fleet ${fleetName}: ${credentials.length} credential${credentials.length === 1 ? "" : "s"}\n`;
  if (credentials.length === 0) return `${header}add one with: token-refresher fleet add --credential NAME --endpoint URL --client-secret-file FILE\n`;
  const rows = [
    ["CREDENTIAL", "STATUS", "DIALECT", "NEXT DUE", "LAST OUTCOME"],
    ...credentials.map((c) => [
      c.credential,
      c.status,
      c.dialect,
      c.nextDue ?? "-",
      c.lastOutcome ? `${c.lastOutcome} (${c.lastReason ?? "-"}) at ${c.lastRunAt ?? "-"}` : "-",
    ]),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return header + rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join("  ")).join("\n") + "\n";
}
