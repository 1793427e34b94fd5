import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  UpdateSecretVersionStageCommand,
  type GetSecretValueCommandOutput,
  type SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import { RefreshError } from "../errors.js";
import { MAX_SCOPE_CHARS, MAX_TOKEN_CHARS } from "../settings.js";
import { optionalString, optionalTimestamp, parseSecretObject, type SecretSource } from "./fields.js";
import { putOrCreateSecret } from "./put-or-create.js";

const ROLE = "token secret";

/**
 * The label a new pair is stored under until it is promoted: any label keeps a new version from
 * becoming AWSCURRENT on its own. A crashed run's pair is found by its version id, not by this
 * label, so a later writer moving the label loses nothing (see docs/protocol.md).
 */
export const PENDING_STAGE = "TR_PENDING";

/** The token secret's JSON: the pair consumers read. Nothing else lives there (the lease is in the state table). */
export interface TokenDocument {
  readonly accessToken?: string;
  readonly refreshToken?: string;
  readonly tokenType?: string;
  readonly scope?: string;
  readonly expiresAt?: string;
  /** When the platform issued the pair (AWS's clock): of two pairs, the later one is the one the platform honours. */
  readonly refreshedAt?: string;
  /** When the refresh token expires, where known (IoT: a month; OAuth2: `refresh_token_expires_in`). */
  readonly refreshTokenExpiresAt?: string;
}

export interface TokenVersion {
  readonly arn: string;
  readonly versionId: string;
  readonly document: TokenDocument;
}

/** AWSCURRENT as stored, not yet parsed: an operator may replace a value the refresher cannot read. */
export interface StoredText {
  readonly arn: string;
  readonly versionId: string;
  /** Undefined for a binary value. */
  readonly text: string | undefined;
}

/**
 * Parses and type-checks the token secret. An empty string or `{}` is a secret with no pair yet. A
 * SecretFormatError names the field, and `secretId` (the secret's name or ARN) where it is given.
 */
export function parseTokenDocument(text: string | undefined, secretId?: string): TokenDocument {
  const source: SecretSource = { role: ROLE, secretId };
  const raw = text?.trim() === "" ? {} : parseSecretObject(source, text);
  const token = (field: string) => optionalString(source, raw, field, MAX_TOKEN_CHARS);
  return {
    accessToken: token("accessToken"),
    refreshToken: token("refreshToken"),
    tokenType: optionalString(source, raw, "tokenType", 64),
    scope: optionalString(source, raw, "scope", MAX_SCOPE_CHARS),
    expiresAt: optionalTimestamp(source, raw, "expiresAt"),
    refreshedAt: optionalTimestamp(source, raw, "refreshedAt"),
    refreshTokenExpiresAt: optionalTimestamp(source, raw, "refreshTokenExpiresAt"),
  };
}

/** The secret text for `document`: JSON without undefined fields. */
export function serializeTokenDocument(document: TokenDocument): string {
  return JSON.stringify(document);
}

/** Whole seconds the stored access token has left (0 once expired); undefined without an access token and expiry. */
export function accessTokenSecondsLeft(document: TokenDocument, now: number): number | undefined {
  if (!document.accessToken || !document.expiresAt) return undefined;
  return secondsUntil(document.expiresAt, now);
}

/** Whole seconds the stored refresh token has left (0 once expired); undefined when its lifetime is not known. */
export function refreshTokenSecondsLeft(document: TokenDocument, now: number): number | undefined {
  if (!document.refreshToken || !document.refreshTokenExpiresAt) return undefined;
  return secondsUntil(document.refreshTokenExpiresAt, now);
}

const secondsUntil = (iso: string, now: number) => Math.max(0, Math.floor((Date.parse(iso) - now) / 1000));

/**
 * Owns the token secret's calls: reads by AWSCURRENT or version id only, and writes by
 * compare-and-swap — a new version is stored under a private label, then moved to AWSCURRENT with
 * `RemoveFromVersionId` set to the version the writer read, which Secrets Manager refuses if
 * another writer moved AWSCURRENT meanwhile. The rules around these calls are the write
 * protocol's (lambda/protocol, docs/protocol.md).
 */
export class TokenStore {
  constructor(
    private readonly secrets: SecretsManagerClient,
    readonly secretId: string,
  ) {}

  async readCurrent(): Promise<TokenVersion> {
    const version = await this.read({ VersionStage: "AWSCURRENT" });
    if (!version) {
      throw new RefreshError(`token secret ${this.secretId} was not found or has no AWSCURRENT value (store {} in it to start)`, { kind: "secret" });
    }
    return version;
  }

  /** AWSCURRENT's version id, without reading the value as a pair (it may be malformed). */
  async currentVersionId(): Promise<string | undefined> {
    return (await this.currentText())?.versionId;
  }

  /** AWSCURRENT unparsed, or undefined when the secret is missing or has no value yet. */
  async currentText(): Promise<StoredText | undefined> {
    const answer = await this.get({ VersionStage: "AWSCURRENT" });
    return answer && { arn: answer.ARN ?? this.secretId, versionId: answer.VersionId ?? "", text: answer.SecretString };
  }

  /**
   * The first value of a token secret that has none: creates the secret when it is missing, else
   * stores `text` as its first version, which Secrets Manager makes AWSCURRENT. The caller made
   * sure there is no value (under the lease); `clientRequestToken` becomes the version id.
   */
  async initialize(text: string, clientRequestToken: string): Promise<{ readonly versionId: string; readonly created: boolean }> {
    const { versionId, created } = await putOrCreateSecret(this.secrets, this.secretId, ROLE, text, clientRequestToken);
    return { versionId: versionId ?? clientRequestToken, created };
  }

  /** One version by id, or undefined when there is no such version. */
  readVersion(versionId: string): Promise<TokenVersion | undefined> {
    return this.read({ VersionId: versionId });
  }

  /**
   * Stores `text` as a new version under the pending label without making it current. The same
   * `clientRequestToken` always names the same version (it becomes the version id), so a retried
   * write creates no second version.
   */
  async store(text: string, clientRequestToken: string, signal?: AbortSignal): Promise<string> {
    try {
      const answer = await this.secrets.send(
        new PutSecretValueCommand({ SecretId: this.secretId, SecretString: text, VersionStages: [PENDING_STAGE], ClientRequestToken: clientRequestToken }),
        { abortSignal: signal },
      );
      return answer.VersionId ?? clientRequestToken;
    } catch (error) {
      // A retry of a write whose answer was lost: the version exists. Same text: it is this write.
      if (!(error instanceof ResourceExistsException)) throw error;
      const existing = await this.secrets.send(new GetSecretValueCommand({ SecretId: this.secretId, VersionId: clientRequestToken }), { abortSignal: signal });
      if (existing.SecretString !== text) throw error;
      return clientRequestToken;
    }
  }

  /**
   * Moves AWSCURRENT from `fromVersionId` to `toVersionId`. Returns false when the swap lost:
   * AWSCURRENT is no longer on `fromVersionId` (and not already on `toVersionId`).
   */
  async promote(toVersionId: string, fromVersionId: string, signal?: AbortSignal): Promise<boolean> {
    try {
      await this.secrets.send(
        new UpdateSecretVersionStageCommand({
          SecretId: this.secretId,
          VersionStage: "AWSCURRENT",
          MoveToVersionId: toVersionId,
          RemoveFromVersionId: fromVersionId,
        }),
        { abortSignal: signal },
      );
      return true;
    } catch (error) {
      // Secrets Manager refuses the move when AWSCURRENT is elsewhere; find out where it is.
      const current = await this.currentText();
      if (current?.versionId === toVersionId) return true;
      if (current && current.versionId !== fromVersionId) return false;
      throw error;
    }
  }

  private async read(which: { VersionStage: string } | { VersionId: string }): Promise<TokenVersion | undefined> {
    const answer = await this.get(which);
    return answer && { arn: answer.ARN ?? this.secretId, versionId: answer.VersionId ?? "", document: parseTokenDocument(answer.SecretString, this.secretId) };
  }

  private async get(which: { VersionStage: string } | { VersionId: string }): Promise<GetSecretValueCommandOutput | undefined> {
    try {
      return await this.secrets.send(new GetSecretValueCommand({ SecretId: this.secretId, ...which }));
    } catch (error) {
      if (error instanceof ResourceNotFoundException) return undefined;
      throw error;
    }
  }
}
