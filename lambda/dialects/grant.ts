import { ProtocolError } from "../errors.js";
import { MAX_SCOPE_CHARS, MAX_TOKEN_CHARS } from "../settings.js";
import type { TokenGrant } from "./types.js";

const MAX_EXPIRES_IN_SECONDS = 366 * 24 * 3600;

/** Checks of a 200 token answer, shared by the dialects; errors name the field, never its value. */
export class GrantReader {
  private readonly body: Readonly<Record<string, unknown>>;

  constructor(
    private readonly where: string,
    json: unknown,
  ) {
    if (typeof json !== "object" || json === null || Array.isArray(json)) {
      throw new ProtocolError(`${where} answered 200 without a JSON object body`, { httpStatus: 200 });
    }
    this.body = json as Record<string, unknown>;
  }

  has(field: string): boolean {
    return this.body[field] !== undefined && this.body[field] !== null;
  }

  token(field: string): string {
    const value = this.body[field];
    if (typeof value !== "string" || value.trim() === "" || value.length > MAX_TOKEN_CHARS) {
      throw this.invalid(field, value === undefined ? "is missing" : `is not a non-empty string of at most ${MAX_TOKEN_CHARS} characters`);
    }
    return value;
  }

  optionalText(field: string): string | undefined {
    const value = this.body[field];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== "string" || value.length > MAX_SCOPE_CHARS) throw this.invalid(field, "is not a short string");
    return value;
  }

  /** A lifetime in seconds, as a number or a numeric string ("expiresIn may arrive as either"). */
  seconds(field: string): number {
    const value = this.body[field];
    const seconds = typeof value === "string" && /^\s*\d+\s*$/.test(value) ? Number(value) : value;
    if (typeof seconds !== "number" || !Number.isInteger(seconds) || seconds <= 0 || seconds > MAX_EXPIRES_IN_SECONDS) {
      throw this.invalid(field, value === undefined ? "is missing" : "is not a positive whole number of seconds");
    }
    return seconds;
  }

  private invalid(field: string, problem: string): ProtocolError {
    return new ProtocolError(`${this.where} answered 200 but field ${field} ${problem}`, { httpStatus: 200 });
  }
}

/** A typed client's answer (IotAuthResult, OAuth2TokenResult, OAuth2AccessTokenResult) as the workflow's TokenGrant. */
export function toTokenGrant(result: {
  accessToken: string;
  refreshToken?: string;
  tokenType: string;
  scope?: string;
  expiresIn: number;
  refreshTokenExpiresIn?: number;
}): TokenGrant {
  return {
    accessToken: result.accessToken,
    refreshToken: result.refreshToken,
    tokenType: result.tokenType,
    scope: result.scope,
    expiresInSeconds: result.expiresIn,
    ...(result.refreshTokenExpiresIn !== undefined && { refreshTokenExpiresInSeconds: result.refreshTokenExpiresIn }),
  };
}
