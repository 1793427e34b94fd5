// The fleet's names (docs/fleet.md): the registry table's key, attributes and due index, the write
// budget's items, the session tag and the work queue's message. No imports, so the CDK construct and
// the CLI can share them cheaply; every other fleet module takes its names from here.

/** The registry table's partition key (no sort key): the credential's name. */
export const REGISTRY_KEY = "credential";

/** The registry item's attributes (docs/fleet.md, "Registry item"). */
export const REGISTRY_ATTRIBUTE = {
  credential: REGISTRY_KEY,
  specMap: "spec",
  status: "status",
  dueShard: "dueShard",
  nextDueAt: "nextDueAt",
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

/** The sparse global secondary index of due credentials: partition key `dueShard` (S), sort key `nextDueAt` (N), projection ALL. */
export const DUE_INDEX = "due";
/** Due-index partitions: a credential's shard comes from a hash of its name, so no partition holds the whole fleet. */
export const DUE_SHARDS = 8;

export const CREDENTIAL_STATUSES = ["active", "paused", "removing"] as const;
export type CredentialStatus = (typeof CREDENTIAL_STATUSES)[number];

/**
 * The write budget's items live in the registry table under this key prefix, one per second of AWS's
 * clock (`#budget#<epoch second>`). A credential name cannot start with `#` (docs/configuration.md),
 * so no budget item is ever a credential's, and a policy can grant the budget without any credential.
 */
export const BUDGET_KEY_PREFIX = "#budget#";
/** The budget item's count of Secrets Manager writes granted in its second. */
export const BUDGET_USED_ATTRIBUTE = "used";
/** The registry table's TTL attribute (epoch seconds): budget items expire by themselves. */
export const REGISTRY_TTL_ATTRIBUTE = "ttl";

/** The session tag a worker sets when it assumes the run role: the credential the session may touch. */
export const CREDENTIAL_TAG = "TokenRefresherCredential";

/** Secrets Manager writes of one refresh: store the pair, promote it (docs/protocol.md). */
export const WRITES_PER_REFRESH = 2;

/** The work queue's message body: which credential to run. */
export interface WorkMessage {
  readonly credential: string;
}
