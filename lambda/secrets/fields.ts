import { SecretFormatError } from "../errors.js";

/** Which secret a field belongs to, for error messages that name it. */
export type SecretRole = SecretFormatError["secretRole"];
/** A secret as messages name it: its role, and its name or ARN where known. */
export interface SecretSource {
  readonly role: SecretRole;
  readonly secretId?: string;
}
export type SecretObject = Readonly<Record<string, unknown>>;

/** Secrets Manager's own limit for a secret value. */
const MAX_SECRET_BYTES = 65_536;

export function parseSecretObject(source: SecretSource, text: string | undefined): SecretObject {
  if (text === undefined) throw formatError(source, "SecretString", "is missing (binary secrets are not supported)");
  if (Buffer.byteLength(text, "utf8") > MAX_SECRET_BYTES) {
    throw formatError(source, "SecretString", `is larger than ${MAX_SECRET_BYTES} bytes`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw formatError(source, "SecretString", "is not valid JSON");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw formatError(source, "SecretString", "must be a JSON object");
  }
  return parsed as SecretObject;
}

export function optionalString(source: SecretSource, secret: SecretObject, field: string, maxLength: number): string | undefined {
  const value = secret[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw formatError(source, field, `must be a string, got ${typeName(value)}`);
  if (value.length > maxLength) throw formatError(source, field, `is longer than ${maxLength} characters`);
  return value;
}

export function requiredString(source: SecretSource, secret: SecretObject, field: string, maxLength: number): string {
  const value = optionalString(source, secret, field, maxLength);
  if (value === undefined || value.trim() === "") throw formatError(source, field, "is required and must be a non-empty string");
  return value;
}

export function optionalTimestamp(source: SecretSource, secret: SecretObject, field: string): string | undefined {
  const value = optionalString(source, secret, field, 64);
  if (value !== undefined && !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(value)) {
    throw formatError(source, field, "must be an ISO-8601 UTC timestamp like 2026-01-31T12:00:00.000Z");
  }
  return value;
}

function formatError(source: SecretSource, field: string, problem: string): SecretFormatError {
  return new SecretFormatError(source.role, field, problem, source.secretId);
}

function typeName(value: unknown): string {
  return Array.isArray(value) ? "array" : typeof value;
}
