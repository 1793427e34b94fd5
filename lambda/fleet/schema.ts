// The fleet runtime's names (docs/fleet.md): the registry item's attributes, the write budget's count,
// the statuses and the work queue's message, besides the table, index, TTL and tag names the construct
// shares (lambda/settings.ts). No imports but those constants, so the CDK construct and the CLI can
// share them cheaply; every fleet module takes its names from here.
import { DUE_SHARD_ATTRIBUTE, NEXT_DUE_AT_ATTRIBUTE, REGISTRY_KEY } from "../settings.js";

/** The registry item's attributes (docs/fleet.md, "Registry item"). */
export const REGISTRY_ATTRIBUTE = {
  credential: REGISTRY_KEY,
  specMap: "spec",
  status: "status",
  dueShard: DUE_SHARD_ATTRIBUTE,
  nextDueAt: NEXT_DUE_AT_ATTRIBUTE,
  retryAt: "retryAt",
  expiresAt: "expiresAt",
  lastOutcome: "lastOutcome",
  lastReason: "lastReason",
  lastRunAt: "lastRunAt",
  overdueSince: "overdueSince",
  createdAt: "createdAt",
  createdBy: "createdBy",
  pausedAt: "pausedAt",
  pausedBy: "pausedBy",
} as const;

export const CREDENTIAL_STATUSES = ["active", "paused", "removing"] as const;
export type CredentialStatus = (typeof CREDENTIAL_STATUSES)[number];

/** A write-budget item's count of Secrets Manager writes granted in its second (key `#budget#<epoch second>`, lambda/settings.ts). */
export const BUDGET_USED_ATTRIBUTE = "used";

/** Secrets Manager writes of one refresh: store the pair, promote it (docs/protocol.md). */
export const WRITES_PER_REFRESH = 2;

/** The work queue's message body: which credential to run. */
export interface WorkMessage {
  readonly credential: string;
}

/** A fleet credential's two secrets: the client credentials, and the token pair its runs write. */
export type FleetSecretKind = "client" | "token";

/** What a fleet credential's secret names are made of. */
export interface FleetCredentialRef {
  readonly fleetName: string;
  readonly secretNamePrefix: string;
  readonly credential: string;
}

/**
 * `<secretNamePrefix><fleetName>/<credential>/client` or `…/token` (docs/fleet.md, "Isolation"):
 * how `fleet add` names the secrets, and, with the session tag for the credential, what the run
 * role's policy lets a run reach.
 */
export function fleetSecretName({ fleetName, secretNamePrefix, credential }: FleetCredentialRef, kind: FleetSecretKind): string {
  return `${secretNamePrefix}${fleetName}/${credential}/${kind}`;
}
