// `token-refresher fleet remove --credential NAME [--force]`: the credential leaves the fleet with
// nothing left behind — registry item, state item, both secrets — and no token pair lost without
// --force. The secrets are deleted with Secrets Manager's default recovery window (30 days), so a
// mistaken --force can be undone with `aws secretsmanager restore-secret`.
import { CliError, EXIT, classifyError, type ExitCode } from "../../errors.js";
import type { CliIo } from "../../io.js";
import type { Output } from "../../output.js";
import { flag, type ParsedArgs } from "../../settings.js";
import type { WriteProtocol } from "../../../../lambda/protocol/write-protocol.js";
import { credentialOption, credentialRef, fleetProtocol, fleetSettings, sameFleetCommand, secretNames, withFleetClients, type FleetClients } from "../../fleet/context.js";
import { UnknownCredentialError } from "../../../../lambda/fleet/registry.js";
import { deleteFleetSecret, findSecret, type SecretDeletion } from "../../fleet/secrets.js";
import type { FleetSecretKind } from "../../../../lambda/fleet/schema.js";

interface Step {
  readonly does: string;
  readonly run: () => Promise<void>;
}

export async function fleetRemoveCommand(args: ParsedArgs, io: CliIo, out: Output): Promise<ExitCode> {
  const settings = fleetSettings(args);
  const name = credentialOption(args);
  const force = flag(args, "force");
  const names = secretNames(credentialRef(settings, name));
  const again = sameFleetCommand("remove", args, name, force ? " --force" : "");
  return withFleetClients(args, io, settings, async (clients) => {
    const item = await clients.registry.read(name);
    const token = await findSecret(clients.secrets, names.token);
    const client = await findSecret(clients.secrets, names.client);
    if (!item && token.kind === "missing" && client.kind === "missing") {
      throw new CliError(`no credential ${name} in fleet ${settings.fleetName}: nothing to remove`, "config", "token-refresher fleet list shows the fleet's credentials");
    }
    const protocol = fleetProtocol(settings, clients, name, names.token, io);
    if (token.kind === "exists" && !force) {
      const held = await heldTokens(protocol);
      if (held) {
        throw new CliError(
          `the token secret ${names.token} holds ${held}: removing ${name} takes it from its consumers; nothing was removed`,
          "config",
          `pause it instead (${sameFleetCommand("pause", args, name)}), or remove it anyway with --force (the secrets stay restorable for the recovery window)`,
        );
      }
    }

    const deletions: Partial<Record<FleetSecretKind, SecretDeletion>> = {};
    const done: string[] = [];
    const steps: Step[] = [
      // Out of the due index first: no run starts while the rest goes.
      ...(item && item.status !== "removing"
        ? [{ does: "mark the registry item removing", run: () => markRemoving(clients, name) }]
        : []),
      ...(["token", "client"] as const).map((kind) => ({
        does: `delete the ${kind} secret`,
        run: async () => {
          deletions[kind] = await deleteFleetSecret(clients.secrets, names[kind], false);
        },
      })),
      { does: "delete the state item", run: () => protocol.forget() },
      { does: "delete the registry item", run: async () => void (await clients.registry.delete(name)) },
    ];
    for (const [index, step] of steps.entries()) {
      try {
        await step.run();
        done.push(step.does);
      } catch (error) {
        const cause = classifyError(error);
        throw new CliError(
          `fleet remove stopped at step ${index + 1} of ${steps.length} (${step.does}): ${cause.message}. Done: ${done.join("; ") || "nothing"}; the registry item, last to go, still names what is left`,
          cause.kind,
          `${cause.hint ? `${cause.hint}; then complete` : "complete"} it with: ${again}`,
          { step: step.does, done },
        );
      }
    }
    out.done(
      {
        fleet: settings.fleetName,
        credential: name,
        registryItem: item ? "deleted" : "absent",
        stateItem: "deleted",
        tokenSecret: { name: names.token, ...deletions.token },
        clientSecret: { name: names.client, ...deletions.client },
        exitCode: EXIT.ok,
      },
      [
        `fleet ${settings.fleetName}: ${name} removed`,
        `  registry item  ${item ? "deleted" : "absent"}`,
        "  state item     deleted",
        `  token secret   ${names.token}: ${deletionText(names.token, deletions.token)}`,
        `  client secret  ${names.client}: ${deletionText(names.client, deletions.client)}`,
        "",
      ].join("\n"),
    );
    return EXIT.ok;
  });
}

/** What the token secret holds that consumers would lose, in words; undefined when nothing. */
async function heldTokens(protocol: WriteProtocol): Promise<string | undefined> {
  const stored = await protocol.readStored();
  if (stored.kind === "none") return undefined;
  if (stored.kind === "unreadable") return "a value the refresher cannot read";
  const { accessToken, refreshToken } = stored.version.document;
  if (accessToken) return "a token pair";
  return refreshToken ? "a refresh token" : undefined;
}

function deletionText(name: string, deletion: SecretDeletion | undefined): string {
  if (!deletion || deletion.kind === "absent") return "absent";
  if (deletion.kind === "deleted") return "deleted";
  return `scheduled for deletion${deletion.deletionDate ? ` on ${deletion.deletionDate}` : ""} (restore it before then with: aws secretsmanager restore-secret --secret-id ${name})`;
}

/** Takes the item out of the due index; one deleted meanwhile (another remove) has nothing left to mark. */
async function markRemoving(clients: FleetClients, name: string): Promise<void> {
  await clients.registry.setStatus(name, "removing", { at: clients.clock.now(), principal: "" }).catch((error: unknown) => {
    if (!(error instanceof UnknownCredentialError)) throw error;
  });
}
