// The two secrets of a fleet credential (docs/fleet.md, "Isolation"): their names, tags and resource
// policies, and the calls that create, find and delete them.
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  PutResourcePolicyCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  type SecretsManagerClient,
  type Tag,
} from "@aws-sdk/client-secrets-manager";
import { secretGuardStatements } from "../../../infra/token-refresher/secret-guard.js";
import { FLEET_TAG } from "../../../lambda/settings.js";
import type { FleetCredentialRef, FleetSecretKind } from "../../../lambda/fleet/schema.js";


export function fleetSecretTags({ fleetName, credential }: FleetCredentialRef, kind: FleetSecretKind): Tag[] {
  return [
    { Key: FLEET_TAG.fleet, Value: fleetName },
    { Key: FLEET_TAG.credential, Value: credential },
    { Key: FLEET_TAG.secret, Value: kind },
  ];
}

/** Who the secrets' resource policies let through: the fleet's run role and its operators. */
export interface FleetPrincipals {
  readonly runRoleArn: string;
  readonly operatorPrincipalArns: readonly string[];
}

/** The resource policy of a fleet secret: the dedicated construct's statements (infra/token-refresher/secret-guard.ts), for the run role and the operators. */
export function fleetSecretPolicy(kind: FleetSecretKind, { runRoleArn, operatorPrincipalArns }: FleetPrincipals): { Version: "2012-10-17"; Statement: unknown[] } {
  const exempt = [...new Set([runRoleArn, ...operatorPrincipalArns])];
  return { Version: "2012-10-17", Statement: secretGuardStatements(kind, exempt, operatorPrincipalArns) };
}

/** A secret as `fleet add` and `fleet remove` find it. */
export type SecretPresence =
  | { readonly kind: "missing" }
  | { readonly kind: "exists"; readonly arn: string; readonly versionIds: readonly string[] }
  | { readonly kind: "deleting"; readonly arn: string; readonly deletionDate?: Date };

export async function findSecret(secrets: SecretsManagerClient, name: string): Promise<SecretPresence> {
  try {
    const answer = await secrets.send(new DescribeSecretCommand({ SecretId: name }));
    const arn = answer.ARN ?? name;
    // DescribeSecret's DeletedDate is the date the secret is scheduled to be deleted on.
    if (answer.DeletedDate) return { kind: "deleting", arn, deletionDate: answer.DeletedDate };
    return { kind: "exists", arn, versionIds: Object.keys(answer.VersionIdsToStages ?? {}) };
  } catch (error) {
    if (error instanceof ResourceNotFoundException) return { kind: "missing" };
    throw error;
  }
}

export interface NewSecret {
  readonly name: string;
  readonly kind: FleetSecretKind;
  readonly description: string;
  readonly value: string;
  /** Becomes the first version's id, so a create whose answer was lost is recognized as this one. */
  readonly requestToken: string;
}

/** Creates a fleet secret with its first value and its tags; returns its ARN. */
export async function createFleetSecret(secrets: SecretsManagerClient, ref: FleetCredentialRef, secret: NewSecret): Promise<string> {
  try {
    const answer = await secrets.send(
      new CreateSecretCommand({
        Name: secret.name,
        Description: secret.description,
        SecretString: secret.value,
        ClientRequestToken: secret.requestToken,
        Tags: fleetSecretTags(ref, secret.kind),
      }),
    );
    return answer.ARN ?? secret.name;
  } catch (error) {
    // The SDK's retry of a create whose answer was lost finds the secret; its first version says whose it is.
    if (!(error instanceof ResourceExistsException)) throw error;
    const found = await findSecret(secrets, secret.name);
    if (found.kind === "exists" && found.versionIds.includes(secret.requestToken)) return found.arn;
    throw error;
  }
}

export async function attachFleetSecretPolicy(secrets: SecretsManagerClient, name: string, kind: FleetSecretKind, principals: FleetPrincipals): Promise<void> {
  await secrets.send(new PutResourcePolicyCommand({ SecretId: name, ResourcePolicy: JSON.stringify(fleetSecretPolicy(kind, principals)) }));
}

/** How a deletion ended: there was nothing to delete, deleted for good, or scheduled (recoverable until `deletionDate`). */
export type SecretDeletion =
  | { readonly kind: "absent" }
  | { readonly kind: "deleted" }
  | { readonly kind: "scheduled"; readonly deletionDate?: string };

/**
 * Deletes a secret: with Secrets Manager's default recovery window (restorable with
 * `aws secretsmanager restore-secret`), or `withoutRecovery` at once. A secret already scheduled
 * for deletion stays scheduled.
 */
export async function deleteFleetSecret(secrets: SecretsManagerClient, name: string, withoutRecovery: boolean): Promise<SecretDeletion> {
  const found = await findSecret(secrets, name);
  if (found.kind === "missing") return { kind: "absent" };
  if (found.kind === "deleting") return { kind: "scheduled", ...(found.deletionDate && { deletionDate: found.deletionDate.toISOString() }) };
  try {
    const answer = await secrets.send(new DeleteSecretCommand({ SecretId: name, ...(withoutRecovery && { ForceDeleteWithoutRecovery: true }) }));
    if (withoutRecovery) return { kind: "deleted" };
    return { kind: "scheduled", ...(answer.DeletionDate && { deletionDate: answer.DeletionDate.toISOString() }) };
  } catch (error) {
    if (error instanceof ResourceNotFoundException) return { kind: "absent" };
    throw error;
  }
}
