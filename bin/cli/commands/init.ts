import { randomUUID } from "node:crypto";
import { DescribeSecretCommand, GetSecretValueCommand, ResourceNotFoundException, type SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { RefresherConfig } from "../../../lambda/config/index.js";
import { usesRefreshToken } from "../../../lambda/settings.js";
import { CLIENT_SECRET } from "../../../lambda/secrets/client-secret.js";
import { parseSecretObject, type SecretObject } from "../../../lambda/secrets/fields.js";
import { putOrCreateSecret } from "../../../lambda/secrets/put-or-create.js";
import type { WriteProtocol } from "../../../lambda/protocol/write-protocol.js";
import { accessTokenSecondsLeft, type TokenDocument } from "../../../lambda/secrets/token-store.js";
import { PEM_FILES, oneStdinReader, readClientSecretInput, readPemFiles, readRefreshToken, validateClientSecret } from "../client-secret-input.js";
import { CliError, type ExitCode } from "../errors.js";
import type { CliIo, Env } from "../io.js";
import type { Output } from "../output.js";
import { flag, fullConfig, runClients, secretsClient, stringOption, writeProtocol, type ParsedArgs } from "../settings.js";
import { reportResult, runWorkflow } from "./refresh.js";

const PEM_FIELDS = PEM_FILES.map(([, field]) => field);

/**
 * Creates or checks both secrets of a credential, then runs the workflow once: forced when there is
 * no usable pair (IoT logs in; OAuth2 redeems the refresh token just stored), otherwise a normal run.
 */
export async function initCommand(args: ParsedArgs, io: CliIo, out: Output): Promise<ExitCode> {
  const config = fullConfig(args.env);
  const secretFile = stringOption(args, "client-secret-file");
  const refreshTokenFile = stringOption(args, "refresh-token-file");
  oneStdinReader(args, ["client-secret-file", "refresh-token-file"]);
  if (refreshTokenFile !== undefined && config.credential.dialect !== "oauth2") {
    throw new CliError("--refresh-token-file is for the oauth2 dialect: IoT logs in with appId/secret and needs no refresh token", "usage");
  }
  const replace = flag(args, "replace");
  const secrets = secretsClient(io, args.env);
  try {
    await ensureClientSecret(config, args, io, out, secrets, secretFile, replace);
    const refreshToken = refreshTokenFile === undefined ? undefined : await readRefreshToken(refreshTokenFile, io);
    const usable = await ensureTokenSecret(config, args.env, io, out, refreshToken, replace);
    const force = flag(args, "force") || !usable || refreshToken !== undefined;
    const result = await runWorkflow(config, args, io, force);
    return reportResult(result, config, out);
  } finally {
    if (!io.secrets) secrets.destroy();
  }
}

type Existing = { kind: "missing" } | { kind: "no-value" } | { kind: "value"; text: string; versionId: string };

async function existing(secrets: SecretsManagerClient, secretId: string): Promise<Existing> {
  try {
    await secrets.send(new DescribeSecretCommand({ SecretId: secretId }));
  } catch (error) {
    if (error instanceof ResourceNotFoundException) return { kind: "missing" };
    throw error;
  }
  try {
    const answer = await secrets.send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: "AWSCURRENT" }));
    if (answer.SecretString === undefined) return { kind: "no-value" };
    return { kind: "value", text: answer.SecretString, versionId: answer.VersionId ?? "" };
  } catch (error) {
    if (error instanceof ResourceNotFoundException) return { kind: "no-value" };
    throw error;
  }
}

/** Stable JSON with sorted keys, to compare secret contents. */
function canonical(value: SecretObject): string {
  return JSON.stringify(Object.fromEntries(Object.entries(value).sort(([a], [b]) => a.localeCompare(b))));
}

function parseOrUndefined(text: string): SecretObject | undefined {
  try {
    return parseSecretObject(CLIENT_SECRET, text);
  } catch {
    return undefined;
  }
}

async function ensureClientSecret(
  config: RefresherConfig,
  args: ParsedArgs,
  io: CliIo,
  out: Output,
  secrets: SecretsManagerClient,
  secretFile: string | undefined,
  replace: boolean,
): Promise<void> {
  const id = config.credential.clientSecretId;
  const state = await existing(secrets, id);
  const current = state.kind === "value" ? parseOrUndefined(state.text) : undefined;
  let desired = secretFile === undefined ? undefined : await readClientSecretInput(secretFile, io);
  // TLS material is separate from the credential: a new file without PEM fields keeps the current ones.
  const kept: string[] = [];
  if (desired && current) {
    for (const field of PEM_FIELDS) {
      if (desired[field] === undefined && typeof current[field] === "string" && current[field] !== "") {
        desired[field] = current[field];
        kept.push(field);
      }
    }
  }
  const pems = await readPemFiles(args, io);
  const firstPem = Object.keys(pems)[0];
  if (firstPem !== undefined) {
    desired ??= current ? { ...current } : undefined;
    if (!desired) throw new CliError(`the client secret ${id} has no usable value to add ${firstPem} to: give --client-secret-file too`, "secret");
    Object.assign(desired, pems);
  }

  if (!desired) {
    if (state.kind !== "value") {
      throw new CliError(`the client secret ${id} ${state.kind === "missing" ? "does not exist" : "has no value"}`, "secret", "give it with --client-secret-file app.json (or - for standard input)");
    }
    try {
      await validate(config, io, parseSecretObject(CLIENT_SECRET, state.text));
    } catch (error) {
      // The stack creates the client secret with empty fields for you to fill.
      const why = error instanceof Error ? error.message : String(error);
      throw new CliError(`the client secret ${id} is not usable yet (${why})`, "secret", "fill it with --client-secret-file app.json (or - for standard input)");
    }
    out.step("clientSecret", { id, action: "checked", fields: fieldNames(current!) }, `client secret  ${id}: exists, checked (${fieldList(current!)})\n`);
    return;
  }

  await validate(config, io, desired);
  if (current && canonical(current) === canonical(desired)) {
    out.step("clientSecret", { id, action: "unchanged", fields: fieldNames(desired) }, `client secret  ${id}: unchanged (${fieldList(desired)})\n`);
    return;
  }
  if (current && !replace && (await isValid(config, io, current))) {
    throw new CliError(`the client secret ${id} already holds a different valid value`, "secret", "pass --replace to overwrite it");
  }
  const { created } = await putOrCreateSecret(secrets, id, "client secret", JSON.stringify(desired));
  const action = created ? "created" : "updated";
  const keptNote = kept.length ? `; kept ${kept.join(", ")} from the current value` : "";
  out.step("clientSecret", { id, action, fields: fieldNames(desired), kept }, `client secret  ${id}: ${action} (${fieldList(desired)}${keptNote})\n`);
}

/** Field names only: never a value. */
function fieldNames(secret: SecretObject): string[] {
  return Object.keys(secret).sort();
}

const fieldList = (secret: SecretObject) => fieldNames(secret).join(", ") || "no fields";

/** Checks the client secret as the refresher will (dialect fields, PEM material) without any network call. */
function validate(config: RefresherConfig, io: CliIo, secret: SecretObject): Promise<void> {
  return validateClientSecret(config.credential, config.runtime, io, secret);
}

async function isValid(config: RefresherConfig, io: CliIo, secret: SecretObject): Promise<boolean> {
  try {
    await validate(config, io, secret);
    return true;
  } catch {
    return false;
  }
}

/**
 * Creates the token secret if missing, stores an OAuth2 refresh token if given; returns whether a
 * usable pair is stored. Every write goes through the write protocol, under the lease — the first
 * value of a secret that has none too.
 */
async function ensureTokenSecret(
  config: RefresherConfig,
  env: Env,
  io: CliIo,
  out: Output,
  refreshToken: string | undefined,
  replace: boolean,
): Promise<boolean> {
  const id = config.credential.tokenSecretId;
  const clients = runClients(io, env, config.runtime);
  try {
    const protocol = writeProtocol(config, clients, clients.clock, io.now);
    const stored = await protocol.readStored();
    const initial: TokenDocument = refreshToken === undefined ? {} : { refreshToken };
    const what = refreshToken === undefined ? "no pair yet" : "refresh token stored";
    const step = (action: string, usablePair: boolean, line: string) => out.step("tokenSecret", { id, action, usablePair }, `token secret   ${id}: ${line}\n`);
    if (stored.kind === "none") {
      const { created } = await writeDocument(protocol, initial, undefined);
      step(created ? "created" : "initialized", false, `${created ? "created" : "initialized"} (${what})`);
      return false;
    }
    if (stored.kind === "unreadable") {
      if (!replace) throw new CliError(stored.problem.message, "secret", "pass --replace to reset the token secret to an empty pair (the refresher then obtains a new one)");
      await writeDocument(protocol, initial, stored.versionId);
      step("reset", false, `reset (${what})`);
      return false;
    }
    const { document, versionId } = stored.version;
    if (refreshToken !== undefined) {
      if (document.refreshToken && !replace) {
        throw new CliError(`the token secret ${id} already holds a refresh token`, "secret", "pass --replace to store the new one (after a person authorized again)");
      }
      await writeDocument(protocol, { ...document, refreshToken }, versionId);
      step("refresh-token-stored", false, "refresh token stored");
      return false;
    }
    // AWS's time (the read set the clock), as the refresher judges expiry.
    const secondsLeft = accessTokenSecondsLeft(document, clients.clock.now());
    // A client_credentials token needs no refresh token: its access token alone is a usable pair.
    const usable = (Boolean(document.refreshToken) || !usesRefreshToken(config.credential.dialect)) && secondsLeft !== undefined && secondsLeft > 0;
    step("exists", usable, `exists (${usable ? "holds a pair" : "no usable pair"})`);
    return usable;
  } finally {
    clients.destroy();
  }
}

/**
 * Writes the token secret the refresher's way (docs/protocol.md): under the lease, as one new
 * version made AWSCURRENT only if AWSCURRENT is still `expectedVersionId` (undefined: the secret
 * has no value yet), recorded in the credential's state (an operator's write also ends a failing
 * credential's backoff).
 */
async function writeDocument(protocol: WriteProtocol, document: TokenDocument, expectedVersionId: string | undefined): Promise<{ created: boolean }> {
  const written = await protocol.writeOperatorDocument(`init-${randomUUID()}`, document, expectedVersionId);
  if (written.kind === "busy") {
    throw new CliError("a refresh run holds the lease on the token secret, or just wrote it", "failed", "check with token-refresher status, then run init again");
  }
  if (written.kind === "superseded") {
    throw new CliError("the token secret changed while init was writing it (a refresh ran)", "failed", "check with token-refresher status, then run init again");
  }
  return written;
}
