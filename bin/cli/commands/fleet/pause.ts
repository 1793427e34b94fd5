// `token-refresher fleet pause|resume --credential NAME`: the registry item's status and the sparse
// due index with it. Paused, the credential is out of the index: the scheduler neither runs it nor
// pages for it as overdue. Resumed, it is back in the index from its `nextDueAt` (due at once if that passed).
import { callerArn } from "../../caller.js";
import { CliError, EXIT, type ExitCode } from "../../errors.js";
import type { CliIo } from "../../io.js";
import type { Output } from "../../output.js";
import type { ParsedArgs } from "../../settings.js";
import { credentialOption, fleetSettings, sameFleetCommand, withFleetClients } from "../../fleet/context.js";
import { CredentialRemovingError, UnknownCredentialError } from "../../../../lambda/fleet/registry.js";
import { notInFleet } from "./show.js";
import { listed } from "./list.js";

export const fleetPauseCommand = (args: ParsedArgs, io: CliIo, out: Output) => switchStatus(args, io, out, "paused");
export const fleetResumeCommand = (args: ParsedArgs, io: CliIo, out: Output) => switchStatus(args, io, out, "active");

async function switchStatus(args: ParsedArgs, io: CliIo, out: Output, to: "paused" | "active"): Promise<ExitCode> {
  const settings = fleetSettings(args);
  const name = credentialOption(args);
  const by = to === "paused" ? await callerArn(args.env) : undefined;
  return withFleetClients(args, io, settings, async ({ registry, clock }) => {
    const before = await registry.read(name);
    if (!before) throw notInFleet(settings, name);
    const changed = await registry.setStatus(name, to, { at: clock.now(), principal: by ?? "" }).catch((error: unknown) => {
      if (error instanceof UnknownCredentialError) throw notInFleet(settings, name);
      if (error instanceof CredentialRemovingError) {
        throw new CliError(`credential ${name} is being removed`, "config", `complete it with: ${sameFleetCommand("remove", args, name)}`);
      }
      throw error;
    });
    const entry = listed(changed);
    const other = sameFleetCommand(to === "paused" ? "resume" : "pause", args, name);
    const text =
      to === "paused"
        ? `${settings.fleetName}/${name}: paused by ${by} (was ${before.status}): out of the due index, so no run and no overdue page\nresume with: ${other}\n`
        : `${settings.fleetName}/${name}: active (was ${before.status}): back in the due index, next due ${entry.nextDue}\n`;
    out.done({ fleet: settings.fleetName, ...entry, was: before.status, ...(by && { pausedBy: by }), ...(to === "paused" && { resumeWith: other }), exitCode: EXIT.ok }, text);
    return EXIT.ok;
  });
}
