import type { Deadline } from "../refresh/deadline.js";

/** A token pair as the platform issued it, validated and normalized across dialects. */
export interface TokenGrant {
  readonly accessToken: string;
  /** Absent for a dialect whose tokens have none (`client_credentials`, see lambda/settings.ts `usesRefreshToken`). */
  readonly refreshToken?: string;
  readonly tokenType: string;
  readonly scope?: string;
  readonly expiresInSeconds: number;
  /** How long the refresh token lives, when the platform says or documents it. */
  readonly refreshTokenExpiresInSeconds?: number;
}

/**
 * One token API dialect. Implementations validate their client-secret fields when created, map
 * every platform answer to a TokenGrant or a RefreshError (see errors.ts), and make exactly one
 * HTTP attempt per call: retries, backoff and the time budget belong to the workflow.
 */
export interface TokenDialect {
  /** Exchange a refresh token for a new pair. */
  refresh(refreshToken: string, deadline: Deadline): Promise<TokenGrant>;
  /**
   * Obtain a pair without a refresh token (IoT login with appId/secret, OAuth2 `client_credentials`).
   * Absent when the dialect cannot (OAuth2 `refresh_token`: a person must authorize once).
   */
  readonly bootstrap?: (deadline: Deadline) => Promise<TokenGrant>;
  /** Release connections. */
  close(): Promise<void>;
}
