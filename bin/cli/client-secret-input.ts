// What an operator gives the CLI for a credential's secrets (`init`, `fleet add`): the client secret
// as JSON from a file or standard input, PEM files merged into it, an OAuth2 refresh token; and the
// check of a client secret as the refresher will use it, without a network call. Secrets and tokens
// are never taken from the command line, and no message repeats one.
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { CredentialSpec } from "../../lambda/config/index.js";
import { createDialect, type DialectOptions } from "../../lambda/dialects/index.js";
import { SecretFormatError } from "../../lambda/errors.js";
import { CLIENT_SECRET } from "../../lambda/secrets/client-secret.js";
import { parseSecretObject, type SecretObject } from "../../lambda/secrets/fields.js";
import { MAX_TOKEN_CHARS } from "../../lambda/settings.js";
import { CliError } from "./errors.js";
import type { CliIo } from "./io.js";
import { stringOption, type ParsedArgs } from "./settings.js";

/** PEM files merged into the client secret, by option and field. */
export const PEM_FILES = [
  ["ca-cert-file", "caCertificate"],
  ["client-cert-file", "clientCertificate"],
  ["client-key-file", "clientKey"],
] as const;
export type PemField = (typeof PEM_FILES)[number][1];

/** A file's text, or standard input's for `-`. */
export async function readInput(path: string, io: CliIo, what: string): Promise<string> {
  if (path === "-") return io.readStdin();
  try {
    return await readFile(resolve(io.cwd, path), "utf8");
  } catch (error) {
    const code = (error as { code?: string }).code ?? "unreadable";
    throw new CliError(`cannot read the ${what} file ${path}: ${code}`, "usage");
  }
}

/** Refuses two options that would both read standard input. */
export function oneStdinReader(args: ParsedArgs, options: readonly ("client-secret-file" | "refresh-token-file")[]): void {
  const readers = options.filter((option) => stringOption(args, option) === "-");
  if (readers.length > 1) throw new CliError(`only one of ${readers.map((option) => `--${option}`).join(" and ")} can read standard input`, "usage");
}

/** The client secret JSON object from `path`; the error names the problem (not JSON, not an object, too large), never the content. */
export async function readClientSecretInput(path: string, io: CliIo): Promise<Record<string, unknown>> {
  const text = await readInput(path, io, "client secret");
  try {
    return { ...parseSecretObject(CLIENT_SECRET, text) };
  } catch (error) {
    throw new CliError(`the client secret input: ${error instanceof SecretFormatError ? `${error.field} ${error.problem}` : "unreadable"}`, "secret");
  }
}

/** The PEM files the command line names, read, by field (none: empty). */
export async function readPemFiles(args: ParsedArgs, io: CliIo): Promise<Partial<Record<PemField, string>>> {
  const pems: Partial<Record<PemField, string>> = {};
  for (const [option, field] of PEM_FILES) {
    const path = stringOption(args, option);
    if (path === undefined) continue;
    if (path === "-") throw new CliError(`--${option} takes a file path, not standard input`, "usage");
    pems[field] = await readInput(path, io, field);
  }
  return pems;
}

/** One OAuth2 refresh token from `path`. */
export async function readRefreshToken(path: string, io: CliIo): Promise<string> {
  const token = (await readInput(path, io, "refresh token")).trim();
  if (!token) throw new CliError("the refresh token input is empty", "usage");
  if (/\s/.test(token) || token.length > MAX_TOKEN_CHARS) {
    throw new CliError(`the refresh token input must be one token (no spaces or line breaks, at most ${MAX_TOKEN_CHARS} characters)`, "usage");
  }
  return token;
}

/** Checks the client secret as the refresher will (dialect fields, PEM material) without any network call. */
export async function validateClientSecret(credential: CredentialSpec, options: DialectOptions, io: CliIo, secret: SecretObject): Promise<void> {
  const dialect = (io.createDialect ?? createDialect)(credential, secret, options);
  await dialect.close();
}
