import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  UpdateSecretVersionStageCommand,
  type SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import { RefreshError, SecretFormatError } from "../errors.js";
import { optionalString, optionalTimestamp, parseSecretObject, type SecretObject } from "./fields.js";

const ROLE = "token secret";
const MAX_TOKEN_CHARS = 8_192;

/** Staging labels of this protocol besides AWSCURRENT/AWSPREVIOUS. */
export const LEASE_STAGE = "TR_LEASE";
export const PENDING_STAGE = "TR_PENDING";

/** A run's claim on the token secret while it calls the API. */
export interface Lease {
  readonly owner: string;
  readonly until: string;
}

/** The token secret's JSON: the pair consumers read, plus the write protocol's bookkeeping. */
export interface TokenDocument {
  readonly accessToken?: string;
  readonly refreshToken?: string;
  readonly tokenType?: string;
  readonly scope?: string;
  readonly expiresAt?: string;
  readonly refreshedAt?: string;
  /** Set while a run holds the lease (see README, "Write protocol"). */
  readonly lease?: Lease;
  /** On a new pair: the version it replaces, so a crashed run's pending write can be completed safely. */
  readonly basedOnVersionId?: string;
}

export interface TokenVersion {
  readonly arn: string;
  readonly versionId: string;
  readonly document: TokenDocument;
}

/** Parses and type-checks the token secret. An empty string or `{}` is a secret with no pair yet. */
export function parseTokenDocument(text: string | undefined): TokenDocument {
  const raw = text?.trim() === "" ? {} : parseSecretObject(ROLE, text);
  const token = (field: string) => optionalString(ROLE, raw, field, MAX_TOKEN_CHARS);
  return {
    accessToken: token("accessToken"),
    refreshToken: token("refreshToken"),
    tokenType: optionalString(ROLE, raw, "tokenType", 64),
    scope: optionalString(ROLE, raw, "scope", 1_024),
    expiresAt: optionalTimestamp(ROLE, raw, "expiresAt"),
    refreshedAt: optionalTimestamp(ROLE, raw, "refreshedAt"),
    lease: parseLease(raw.lease),
    basedOnVersionId: optionalString(ROLE, raw, "basedOnVersionId", 64),
  };
}

function parseLease(value: unknown): Lease | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "object" || Array.isArray(value)) throw new SecretFormatError(ROLE, "lease", "must be an object");
  const lease = value as SecretObject;
  const owner = optionalString(ROLE, lease, "owner", 64);
  const until = optionalTimestamp(ROLE, lease, "until");
  if (!owner || !until) throw new SecretFormatError(ROLE, "lease", "must have owner and until");
  return { owner, until };
}

/** Whole seconds the stored access token has left (0 once expired); undefined without an access token and expiry. */
export function accessTokenSecondsLeft(document: TokenDocument, now: number): number | undefined {
  if (!document.accessToken || !document.expiresAt) return undefined;
  return Math.max(0, Math.floor((Date.parse(document.expiresAt) - now) / 1000));
}

/** JSON without undefined fields, keys in a stable order. */
function serialize(document: TokenDocument): string {
  return JSON.stringify(document);
}

/**
 * Owns the token secret: reads by AWSCURRENT only, and writes by compare-and-swap — a new version
 * is stored under a private label, then moved to AWSCURRENT with `RemoveFromVersionId` set to the
 * version this run read, which Secrets Manager refuses if another writer moved AWSCURRENT meanwhile.
 */
export class TokenStore {
  constructor(
    private readonly secrets: SecretsManagerClient,
    readonly secretId: string,
  ) {}

  async readCurrent(): Promise<TokenVersion> {
    const version = await this.readStage("AWSCURRENT");
    if (!version) {
      throw new RefreshError(`token secret ${this.secretId} was not found or has no AWSCURRENT value (store {} in it to start)`);
    }
    return version;
  }

  /** The last version stored under TR_PENDING, if any (it may already be current, or stale). */
  async readPending(): Promise<TokenVersion | undefined> {
    return this.readStage(PENDING_STAGE);
  }

  /**
   * Stores `document` as a new version under `stage` without making it current. The same
   * `clientRequestToken` always names the same version, so a retried write is idempotent.
   */
  async store(document: TokenDocument, stage: typeof LEASE_STAGE | typeof PENDING_STAGE, clientRequestToken: string): Promise<string> {
    const answer = await this.secrets.send(
      new PutSecretValueCommand({
        SecretId: this.secretId,
        SecretString: serialize(document),
        VersionStages: [stage],
        ClientRequestToken: clientRequestToken,
      }),
    );
    return answer.VersionId ?? clientRequestToken;
  }

  /**
   * Moves AWSCURRENT from `fromVersionId` to `toVersionId`. Returns false when the swap lost:
   * AWSCURRENT is no longer on `fromVersionId` (and not already on `toVersionId`).
   */
  async promote(toVersionId: string, fromVersionId: string): Promise<boolean> {
    try {
      await this.secrets.send(
        new UpdateSecretVersionStageCommand({
          SecretId: this.secretId,
          VersionStage: "AWSCURRENT",
          MoveToVersionId: toVersionId,
          RemoveFromVersionId: fromVersionId,
        }),
      );
      return true;
    } catch (error) {
      // Secrets Manager refuses the move when AWSCURRENT is elsewhere; find out where it is.
      const current = await this.readStage("AWSCURRENT", false);
      if (current?.versionId === toVersionId) return true;
      if (current && current.versionId !== fromVersionId) return false;
      throw error;
    }
  }

  private async readStage(stage: string, parse = true): Promise<TokenVersion | undefined> {
    try {
      const answer = await this.secrets.send(new GetSecretValueCommand({ SecretId: this.secretId, VersionStage: stage }));
      return {
        arn: answer.ARN ?? this.secretId,
        versionId: answer.VersionId ?? "",
        document: parse ? parseTokenDocument(answer.SecretString) : {},
      };
    } catch (error) {
      if (error instanceof ResourceNotFoundException) return undefined;
      throw error;
    }
  }
}
