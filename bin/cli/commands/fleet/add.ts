// `token-refresher fleet add`: one credential joins a fleet as data (docs/fleet.md, "CLI"): its spec
// from the credential flags, checked by the one rule set; its client secret checked as the refresher
// will use it; then its two secrets (tags, resource policies), the refresh token for OAuth2, and its
// registry item. A step that fails undoes what this command created, so nothing is half-created.
import { randomUUID } from "node:crypto";
import { checkCredential, variableOf, type CredentialSpec } from "../../../../lambda/config/index.js";
import { setting, type SettingField } from "../../../../lambda/config/table.js";
import { parseText } from "../../../../lambda/config/values.js";
import { letThrough, callerArn } from "../../caller.js";
import { oneStdinReader, readClientSecretInput, readPemFiles, readRefreshToken, validateClientSecret } from "../../client-secret-input.js";
import { CliError, EXIT, classifyError, refusedByAws, type ExitCode } from "../../errors.js";
import type { CliIo } from "../../io.js";
import type { Output } from "../../output.js";
import { FLEET_ADD_CREDENTIAL_FIELDS, stringOption, type ParsedArgs } from "../../settings.js";
import { credentialRef, fleetProtocol, fleetSettings, sameFleetCommand, secretNames, withFleetClients, type FleetClients, type FleetSettings } from "../../fleet/context.js";
import { CredentialExistsError, dueShardOf, type Change, type RegisteredSpec } from "../../../../lambda/fleet/registry.js";
import { attachFleetSecretPolicy, createFleetSecret, deleteFleetSecret, findSecret, type FleetPrincipals } from "../../fleet/secrets.js";
import type { FleetCredentialRef, FleetSecretKind } from "../../../../lambda/fleet/schema.js";

export async function fleetAddCommand(args: ParsedArgs, io: CliIo, out: Output): Promise<ExitCode> {
  // Everything the command line and the files say is checked before any AWS call.
  const given = specFromFlags(args);
  const settings = fleetSettings(args, ["runRoleArn"]);
  const ref = credentialRef(settings, String(given.name ?? ""));
  const names = secretNames(ref);
  const stored: RegisteredSpec = { ...given, clientSecretId: names.client, tokenSecretId: names.token };
  const spec = checkedSpec(stored);
  const input = await readInputs(args, io, spec, settings);
  const principals: FleetPrincipals = { runRoleArn: settings.runRoleArn!, operatorPrincipalArns: settings.operatorPrincipalArns };
  if (principals.operatorPrincipalArns.length === 0) {
    throw new CliError(
      `${variableOf("operatorPrincipalArns")} is empty: the secrets' resource policies would let only the run role change or delete them`,
      "config",
      "list the fleet's operators in the fleet construct's operatorPrincipalArns (--function reads them from the worker function)",
    );
  }
  const by = await callerArn(args.env);
  if (!letThrough(by, [principals.runRoleArn, ...principals.operatorPrincipalArns])) {
    throw new CliError(
      `${by} is not among the fleet's operators (${variableOf("operatorPrincipalArns")}): the secrets' resource policies would keep it from undoing or removing what it creates`,
      "config",
      "run fleet commands as one of the fleet's operators",
    );
  }

  return withFleetClients(args, io, settings, async (clients) => {
    await refuseExisting(args, clients, settings, ref, names);
    const created: Change = { at: clients.clock.now(), principal: by };
    const added = await runSteps(addSteps({ args, io, clients, settings, ref, names, spec, stored, principals, created, ...input }), sameFleetCommand("remove", args, spec.name, " --force"));
    const fields = Object.keys(input.clientSecret).sort();
    const tokenLine = input.refreshToken === undefined ? "no pair yet" : "refresh token stored";
    const dueShard = dueShardOf(spec.name);
    out.done(
      {
        fleet: settings.fleetName,
        credential: spec.name,
        spec: stored,
        clientSecret: { name: names.client, arn: added.client, fields, resourcePolicy: true },
        tokenSecret: { name: names.token, arn: added.token, refreshTokenStored: input.refreshToken !== undefined, resourcePolicy: true },
        registry: { status: "active", dueShard, nextDueAt: 0, createdBy: by },
        exitCode: EXIT.ok,
      },
      [
        `fleet ${settings.fleetName}: ${spec.name} added (${spec.dialect}, ${spec.endpointUrl})`,
        `  client secret  ${names.client}: created (${fields.join(", ")}), tagged, resource policy attached`,
        `  token secret   ${names.token}: created (${tokenLine}), tagged, resource policy attached`,
        `  registry       active, due at once (${dueShard})`,
        "",
      ].join("\n"),
    );
    return EXIT.ok;
  });
}

/** The credential flags `fleet add` takes, as a plain object in canonical units: only what was given (no defaults are stored). */
function specFromFlags(args: ParsedArgs): Record<string, string | number> {
  const plain: Record<string, string | number> = {};
  const problems: FlagProblem[] = [];
  for (const field of FLEET_ADD_CREDENTIAL_FIELDS) {
    const text = args.overlay[variableOf(field)]?.trim();
    if (text === undefined) continue;
    const parsed = parseText(setting(field).value, text);
    if ("problem" in parsed) problems.push({ flag: flagOf(field), problem: parsed.problem });
    else plain[field] = parsed.value as string | number;
  }
  if (problems.length > 0) throw invalidCredential(problems);
  return plain;
}

interface FlagProblem {
  readonly flag: string;
  readonly problem: string;
}

const flagOf = (field: SettingField) => (setting(field).flag ? `--${setting(field).flag}` : field);

/** The spec, checked by the same rule set as the construct's and the runtime's; every problem names its flag. */
function checkedSpec(stored: RegisteredSpec): CredentialSpec {
  const { credential, problems } = checkCredential(stored);
  if (credential && problems.length === 0) return credential;
  // The secrets' names are made from the credential's: a problem with them is one with --credential, reported once.
  const derived = (field: SettingField) => field === "clientSecretId" || field === "tokenSecretId";
  const nameProblem = problems.some(({ field }) => field === "name");
  const named = problems.flatMap(({ field, problem }) => {
    if (!derived(field)) return [{ flag: flagOf(field), problem }];
    return nameProblem ? [] : [{ flag: flagOf("name"), problem: `makes a secret name that is not valid (${field} ${problem})` }];
  });
  throw invalidCredential([...new Map(named.map((entry) => [`${entry.flag} ${entry.problem}`, entry])).values()]);
}

function invalidCredential(problems: readonly FlagProblem[]): CliError {
  // The problems name the flag and what it must be, never what was given (an endpoint may carry credentials).
  return new CliError(`invalid credential: ${problems.map(({ flag, problem }) => `${flag} ${problem}`).join("; ")}`, "config", "see token-refresher fleet add --help", { problems });
}

interface Inputs {
  readonly clientSecret: Record<string, unknown>;
  readonly refreshToken?: string;
}

/** The client secret (with its PEM files) checked as the refresher will use it, and the OAuth2 dialect's first refresh token. */
async function readInputs(args: ParsedArgs, io: CliIo, spec: CredentialSpec, settings: FleetSettings): Promise<Inputs> {
  oneStdinReader(args, ["client-secret-file", "refresh-token-file"]);
  const secretFile = stringOption(args, "client-secret-file");
  if (secretFile === undefined) throw new CliError("--client-secret-file is required: the client secret's JSON, from a file or - for standard input", "usage");
  const refreshTokenFile = stringOption(args, "refresh-token-file");
  if (spec.dialect === "oauth2" && refreshTokenFile === undefined) {
    throw new CliError("the oauth2 dialect needs the refresh token a person authorized: give it with --refresh-token-file FILE (or - for standard input)", "usage");
  }
  if (spec.dialect !== "oauth2" && refreshTokenFile !== undefined) {
    throw new CliError(`--refresh-token-file is for the oauth2 dialect: ${spec.dialect} obtains its tokens with the client secret alone`, "usage");
  }
  const clientSecret = { ...(await readClientSecretInput(secretFile, io)), ...(await readPemFiles(args, io)) };
  await validateClientSecret(spec, settings.runtime, io, clientSecret);
  return { clientSecret, ...(refreshTokenFile !== undefined && { refreshToken: await readRefreshToken(refreshTokenFile, io) }) };
}

/** Refuses a name in use: a registry item, or either secret (also one scheduled for deletion, whose name Secrets Manager keeps). */
async function refuseExisting(args: ParsedArgs, clients: FleetClients, settings: FleetSettings, ref: FleetCredentialRef, names: Record<FleetSecretKind, string>): Promise<void> {
  const item = await clients.registry.read(ref.credential);
  if (item) {
    throw new CliError(
      `credential ${ref.credential} is already in fleet ${settings.fleetName} (${item.status})`,
      "config",
      `see it with: ${sameFleetCommand("show", args, ref.credential)}; to change it, remove it and add it again`,
    );
  }
  for (const name of Object.values(names)) {
    const found = await findSecret(clients.secrets, name);
    if (found.kind === "exists") {
      throw new CliError(
        `the secret ${name} already exists (an add or remove of ${ref.credential} that did not finish?)`,
        "config",
        `remove what is left with: ${sameFleetCommand("remove", args, ref.credential, " --force")}`,
      );
    }
    if (found.kind === "deleting") {
      throw new CliError(
        `the secret ${name} is scheduled for deletion${found.deletionDate ? ` on ${found.deletionDate.toISOString()}` : ""} (a removed credential of the same name): Secrets Manager keeps its name until then`,
        "config",
        `restore it with: aws secretsmanager restore-secret --secret-id ${name}; or add the credential under another name`,
      );
    }
  }
}

interface AddContext extends Inputs {
  readonly args: ParsedArgs;
  readonly io: CliIo;
  readonly clients: FleetClients;
  readonly settings: FleetSettings;
  readonly ref: FleetCredentialRef;
  readonly names: Record<FleetSecretKind, string>;
  readonly spec: CredentialSpec;
  readonly stored: RegisteredSpec;
  readonly principals: FleetPrincipals;
  readonly created: Change;
}

/** What a step leaves that the undo removes; `run` says what it did. */
interface Undo {
  readonly what: string;
  readonly run: () => Promise<string>;
}

interface Step {
  readonly does: string;
  readonly run: () => Promise<void>;
  readonly undo?: Undo;
  /** The step writes several items: a refusal of a later call still leaves the earlier ones. */
  readonly undoEvenIfRefused?: boolean;
}

/**
 * In order: the client secret (created with its value and tags, then its resource policy), the
 * token secret (`{}`, as the construct creates it, likewise), the OAuth2 refresh token through the
 * write protocol (which keeps its state item), and last the registry item, so the scheduler never
 * sees a credential whose secrets are not complete.
 */
function addSteps(c: AddContext): { steps: Step[]; arns: Record<FleetSecretKind, string> } {
  const arns: Record<FleetSecretKind, string> = { client: "", token: "" };
  const requestToken = { client: randomUUID(), token: randomUUID() };
  const description = {
    client: `token-refresher fleet ${c.settings.fleetName}, credential ${c.spec.name}: client credentials (${c.spec.dialect}), read only by the fleet's runs and its operators`,
    token: `token-refresher fleet ${c.settings.fleetName}, credential ${c.spec.name}: access/refresh token pair, written by the fleet's runs, read by consumers (AWSCURRENT)`,
  };
  const values = { client: JSON.stringify(c.clientSecret), token: "{}" };
  const protocol = fleetProtocol(c.settings, c.clients, c.spec.name, c.names.token, c.io);
  const secretSteps = (kind: FleetSecretKind): Step[] => [
    {
      does: `create the ${kind} secret`,
      run: async () => {
        arns[kind] = await createFleetSecret(c.clients.secrets, c.ref, { name: c.names[kind], kind, description: description[kind], value: values[kind], requestToken: requestToken[kind] });
      },
      undo: { what: `${kind} secret ${c.names[kind]}`, run: () => undoSecret(c, kind, kind === "token" ? () => holdsPair(c) : undefined) },
    },
    { does: `attach the ${kind} secret's resource policy`, run: () => attachFleetSecretPolicy(c.clients.secrets, c.names[kind], kind, c.principals) },
  ];
  const refreshToken = c.refreshToken;
  const steps: Step[] = [
    ...secretSteps("client"),
    ...secretSteps("token"),
    ...(refreshToken === undefined
      ? []
      : [
          {
            does: "store the refresh token",
            run: async () => {
              const written = await protocol.writeOperatorDocument(`add-${randomUUID()}`, { refreshToken }, requestToken.token);
              // Nothing else writes a credential that is not registered yet.
              if (written.kind !== "written") throw new CliError(`the token secret ${c.names.token} changed while fleet add was writing it`, "failed");
            },
            undo: { what: "state item", run: async () => (await protocol.forget(), "state item deleted") },
            undoEvenIfRefused: true,
          } satisfies Step,
        ]),
    {
      does: "register the credential",
      run: async () => {
        await c.clients.registry.register(c.stored, c.created).catch((error: unknown) => {
          if (error instanceof CredentialExistsError) {
            throw new CliError(`credential ${c.spec.name} was registered meanwhile by another fleet add`, "config", `see it with: ${sameFleetCommand("show", c.args, c.spec.name)}`);
          }
          throw error;
        });
      },
      undo: { what: "registry item", run: async () => ((await c.clients.registry.delete(c.spec.name, c.created)) ? "registry item deleted" : "registry item not written") },
    },
  ];
  return { steps, arns };
}

/**
 * Deletes a secret this command created: without recovery (so the name is free for the next try)
 * unless it holds a token pair — a run may have refreshed a credential whose registration answer was
 * lost — or that cannot be known; then with Secrets Manager's recovery window.
 */
async function undoSecret(c: AddContext, kind: FleetSecretKind, heldPair?: () => Promise<boolean>): Promise<string> {
  const name = c.names[kind];
  const keep = heldPair ? await heldPair().catch(() => true) : false;
  const deletion = await deleteFleetSecret(c.clients.secrets, name, !keep);
  if (deletion.kind === "absent") return `${kind} secret not created`;
  if (deletion.kind === "deleted") return `${kind} secret ${name} deleted without recovery`;
  return `${kind} secret ${name} scheduled for deletion${deletion.deletionDate ? ` on ${deletion.deletionDate}` : ""} (it may hold a token pair: aws secretsmanager restore-secret --secret-id ${name} brings it back)`;
}

async function holdsPair(c: AddContext): Promise<boolean> {
  const stored = await fleetProtocol(c.settings, c.clients, c.spec.name, c.names.token, c.io).readStored();
  return stored.kind === "pair" && stored.version.document.accessToken !== undefined;
}

/**
 * Runs the steps in order. When one fails, the undos of the steps done (and of the failed one, unless
 * AWS refused it: then it changed nothing) run newest first; an undo that fails stops the rest, so
 * what is left is always a prefix of a registration that `fleet remove --force` removes.
 */
async function runSteps({ steps, arns }: { steps: Step[]; arns: Record<FleetSecretKind, string> }, removeCommand: string): Promise<Record<FleetSecretKind, string>> {
  const undos: Undo[] = [];
  for (const [index, step] of steps.entries()) {
    try {
      await step.run();
      if (step.undo) undos.push(step.undo);
    } catch (error) {
      if (step.undo && (step.undoEvenIfRefused || !refusedByAws(error))) undos.push(step.undo);
      const cause = classifyError(error);
      const { undone, left } = await undoAll(undos.reverse());
      const summary = left.length === 0 ? `Undone: ${undone.join("; ") || "nothing was created"}. Nothing is left.` : `Undone: ${undone.join("; ") || "nothing"}. Left: ${left.join("; ")}.`;
      throw new CliError(
        `fleet add stopped at step ${index + 1} of ${steps.length} (${step.does}): ${cause.message}. ${summary}`,
        cause.kind,
        left.length === 0 ? cause.hint : `remove what is left with: ${removeCommand}${cause.hint ? `; ${cause.hint}` : ""}`,
        { step: step.does, undone, left },
      );
    }
  }
  return arns;
}

async function undoAll(undos: readonly Undo[]): Promise<{ undone: string[]; left: string[] }> {
  const undone: string[] = [];
  for (const [index, undo] of undos.entries()) {
    try {
      undone.push(await undo.run());
    } catch (error) {
      return { undone, left: [`${undo.what} (its undo failed: ${classifyError(error).message})`, ...undos.slice(index + 1).map((rest) => rest.what)] };
    }
  }
  return { undone, left: [] };
}
