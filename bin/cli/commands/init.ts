import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  type SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import type { RefresherConfig } from "../../../lambda/config.js";
import { usesRefreshToken } from "../../../lambda/settings.js";
import { createDialect } from "../../../lambda/dialects/index.js";
import { SecretFormatError } from "../../../lambda/errors.js";
import { CLIENT_SECRET } from "../../../lambda/secrets/client-secret.js";
import { parseSecretObject, type SecretObject } from "../../../lambda/secrets/fields.js";
import type { AttemptRecord } from "../../../lambda/protocol/write-protocol.js";
import { accessTokenSecondsLeft, parseTokenDocument, type TokenDocument, type TokenVersion } from "../../../lambda/secrets/token-store.js";
import { CliError, EXIT, type ExitCode } from "../errors.js";
import type { CliIo } from "../io.js";
import { flag, fullConfig, runClients, secretsClient, stringOption, writeProtocol, type ParsedArgs } from "../settings.js";
import { reportResult, runWorkflow } from "./refresh.js";

/** PEM files that `init` merges into the client secret, by field. */
const PEM_FILES = [
  ["ca-cert-file", "caCertificate"],
  ["client-cert-file", "clientCertificate"],
  ["client-key-file", "clientKey"],
] as const;

/**
 * Creates or checks both secrets of a credential, then runs the workflow once: forced when there is
 * no usable pair (IoT logs in; OAuth2 redeems the refresh token just stored), otherwise a normal run.
 */
export async function initCommand(args: ParsedArgs, io: CliIo): Promise<ExitCode> {
  const config = fullConfig(args.env);
  const secretFile = stringOption(args, "client-secret-file");
  const refreshTokenFile = stringOption(args, "refresh-token-file");
  if (secretFile === "-" && refreshTokenFile === "-") {
    throw new CliError("only one of --client-secret-file and --refresh-token-file can read standard input", EXIT.usage);
  }
  if (refreshTokenFile !== undefined && config.dialect !== "oauth2") {
    throw new CliError("--refresh-token-file is for the oauth2 dialect: IoT logs in with appId/secret and needs no refresh token", EXIT.usage);
  }
  const replace = flag(args, "replace");
  const secrets = secretsClient(io, args.env);
  try {
    await ensureClientSecret(config, args, io, secrets, secretFile, replace);
    const refreshToken = refreshTokenFile === undefined ? undefined : await readRefreshToken(refreshTokenFile, io);
    const usable = await ensureTokenSecret(config, io, secrets, refreshToken, replace);
    const force = flag(args, "force") || !usable || refreshToken !== undefined;
    const result = await runWorkflow(config, args, io, force);
    return reportResult(result, config, args, io);
  } finally {
    if (!io.secrets) secrets.destroy();
  }
}

async function readInput(path: string, io: CliIo, what: string): Promise<string> {
  if (path === "-") return io.readStdin();
  try {
    return await readFile(resolve(io.cwd, path), "utf8");
  } catch (error) {
    const code = (error as { code?: string }).code ?? "unreadable";
    throw new CliError(`cannot read the ${what} file ${path}: ${code}`, EXIT.usage);
  }
}

async function readRefreshToken(path: string, io: CliIo): Promise<string> {
  const token = (await readInput(path, io, "refresh token")).trim();
  if (!token) throw new CliError("the refresh token input is empty", EXIT.usage);
  if (/\s/.test(token) || token.length > 8_192) throw new CliError("the refresh token input must be one token (no spaces or line breaks, at most 8192 characters)", EXIT.usage);
  return token;
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

async function createOrPut(secrets: SecretsManagerClient, secretId: string, state: Existing, text: string, role: string): Promise<void> {
  if (state.kind === "missing") {
    if (secretId.startsWith("arn:")) {
      throw new CliError(`the ${role} ${secretId} does not exist and cannot be created by ARN: deploy the stack (it creates it) or pass a name`, EXIT.usage);
    }
    await secrets.send(new CreateSecretCommand({ Name: secretId, SecretString: text, Description: `token-refresher ${role}` }));
  } else {
    await secrets.send(new PutSecretValueCommand({ SecretId: secretId, SecretString: text }));
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
  secrets: SecretsManagerClient,
  secretFile: string | undefined,
  replace: boolean,
): Promise<void> {
  const id = config.clientSecretId;
  const state = await existing(secrets, id);
  const current = state.kind === "value" ? parseOrUndefined(state.text) : undefined;
  let desired: Record<string, unknown> | undefined;
  if (secretFile !== undefined) {
    const text = await readInput(secretFile, io, "client secret");
    try {
      desired = { ...parseSecretObject(CLIENT_SECRET, text) };
    } catch (error) {
      // The message names the problem (not JSON, not an object, too large), never the content.
      throw new CliError(`the client secret input: ${error instanceof SecretFormatError ? error.message.replace(/^client secret: /, "") : "unreadable"}`, EXIT.usage);
    }
  }
  // TLS material is separate from the credential: a new file without PEM fields keeps the current ones.
  const kept: string[] = [];
  if (desired && current) {
    for (const [, field] of PEM_FILES) {
      if (desired[field] === undefined && typeof current[field] === "string" && current[field] !== "") {
        desired[field] = current[field];
        kept.push(field);
      }
    }
  }
  for (const [option, field] of PEM_FILES) {
    const path = stringOption(args, option);
    if (path === undefined) continue;
    if (path === "-") throw new CliError(`--${option} takes a file path, not standard input`, EXIT.usage);
    desired ??= current ? { ...current } : undefined;
    if (!desired) throw new CliError(`the client secret ${id} has no usable value to add ${field} to: give --client-secret-file too`, EXIT.usage);
    desired[field] = await readInput(path, io, field);
  }

  if (!desired) {
    if (state.kind !== "value") {
      throw new CliError(`the client secret ${id} ${state.kind === "missing" ? "does not exist" : "has no value"}`, EXIT.usage, "give it with --client-secret-file app.json (or - for standard input)");
    }
    try {
      await validate(config, io, parseSecretObject(CLIENT_SECRET, state.text));
    } catch (error) {
      // The stack creates the client secret with empty fields for you to fill.
      const why = error instanceof Error ? error.message : String(error);
      throw new CliError(`the client secret ${id} is not usable yet (${why})`, EXIT.usage, "fill it with --client-secret-file app.json (or - for standard input)");
    }
    io.stdout(`client secret  ${id}: exists, checked (${fieldNames(current!)})\n`);
    return;
  }

  await validate(config, io, desired);
  if (current && canonical(current) === canonical(desired)) {
    io.stdout(`client secret  ${id}: unchanged (${fieldNames(desired)})\n`);
    return;
  }
  if (current && !replace && (await isValid(config, io, current))) {
    throw new CliError(`the client secret ${id} already holds a different valid value`, EXIT.usage, "pass --replace to overwrite it");
  }
  await createOrPut(secrets, id, state, JSON.stringify(desired), "client secret");
  const keptNote = kept.length ? `; kept ${kept.join(", ")} from the current value` : "";
  io.stdout(`client secret  ${id}: ${state.kind === "missing" ? "created" : "updated"} (${fieldNames(desired)}${keptNote})\n`);
}

/** Field names only: never a value. */
function fieldNames(secret: SecretObject): string {
  return Object.keys(secret).sort().join(", ") || "no fields";
}

/** Checks the client secret as the refresher will (dialect fields, PEM material) without any network call. */
async function validate(config: RefresherConfig, io: CliIo, secret: SecretObject): Promise<void> {
  const dialect = (io.createDialect ?? createDialect)(config, secret);
  await dialect.close();
}

async function isValid(config: RefresherConfig, io: CliIo, secret: SecretObject): Promise<boolean> {
  try {
    await validate(config, io, secret);
    return true;
  } catch {
    return false;
  }
}

/** Creates the token secret if missing, stores an OAuth2 refresh token if given; returns whether a usable pair is stored. */
async function ensureTokenSecret(
  config: RefresherConfig,
  io: CliIo,
  secrets: SecretsManagerClient,
  refreshToken: string | undefined,
  replace: boolean,
): Promise<boolean> {
  const id = config.tokenSecretId;
  const state = await existing(secrets, id);
  const initial: TokenDocument = refreshToken === undefined ? {} : { refreshToken };
  if (state.kind !== "value") {
    await createOrPut(secrets, id, state, JSON.stringify(initial), "token secret");
    io.stdout(`token secret   ${id}: ${state.kind === "missing" ? "created" : "initialized"} (${refreshToken === undefined ? "no pair yet" : "refresh token stored"})\n`);
    return false;
  }

  const write = (document: TokenDocument) => writeDocument(config, io, secrets, { arn: id, versionId: state.versionId, document: {} }, document);
  let document: TokenDocument;
  try {
    document = parseTokenDocument(state.text, id);
  } catch (error) {
    if (!replace) {
      throw new CliError(`${error instanceof Error ? error.message : String(error)}`, EXIT.usage, "pass --replace to reset the token secret to an empty pair (the refresher then obtains a new one)");
    }
    document = {};
    await write(initial);
    io.stdout(`token secret   ${id}: reset (${refreshToken === undefined ? "no pair yet" : "refresh token stored"})\n`);
    return false;
  }

  if (refreshToken !== undefined) {
    if (document.refreshToken && !replace) {
      throw new CliError(`the token secret ${id} already holds a refresh token`, EXIT.usage, "pass --replace to store the new one (after a person authorized again)");
    }
    await write({ ...document, refreshToken });
    io.stdout(`token secret   ${id}: refresh token stored\n`);
    return false;
  }
  const secondsLeft = accessTokenSecondsLeft(document, (io.now ?? Date.now)());
  // A client_credentials token needs no refresh token: its access token alone is a usable pair.
  const usable = (Boolean(document.refreshToken) || !usesRefreshToken(config.dialect)) && secondsLeft !== undefined && secondsLeft > 0;
  io.stdout(`token secret   ${id}: exists (${usable ? "holds a pair" : "no usable pair"})\n`);
  return usable;
}

/**
 * Writes the token secret the refresher's way (docs/protocol.md): under the lease, as one new
 * version made AWSCURRENT only if AWSCURRENT did not move, recorded in the credential's state (an
 * operator's write also ends a failing credential's backoff).
 */
async function writeDocument(config: RefresherConfig, io: CliIo, secrets: SecretsManagerClient, base: TokenVersion, document: TokenDocument): Promise<void> {
  const clients = runClients({ ...io, secrets }, io.env, config);
  try {
    const protocol = writeProtocol(config, clients, io);
    const state = await protocol.table.read();
    const lease = await protocol.acquire(`init-${randomUUID()}`, base);
    if (!lease) throw new CliError("a refresh run holds the lease on the token secret, or just wrote it", EXIT.failed, "check with token-refresher status, then run init again");
    let record: AttemptRecord | undefined;
    try {
      const written = await protocol.commit(lease, document);
      if (written.kind === "superseded") {
        throw new CliError("the token secret changed while init was writing it (a refresh ran)", EXIT.failed, "check with token-refresher status, then run init again");
      }
      const at = clients.clock.now();
      record = { attempt: { outcome: "Refreshed", reason: "operator-write", at }, permanent: false, createdVersionsAt: [at] };
    } finally {
      await protocol.release(lease, state, record);
    }
  } finally {
    clients.destroy();
  }
}
