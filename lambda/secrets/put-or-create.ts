import { CreateSecretCommand, PutSecretValueCommand, ResourceNotFoundException, type SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { RefreshError } from "../errors.js";
import type { SecretRole } from "./fields.js";

/**
 * Stores `text` as the secret's new current value, creating the secret when it does not exist: an
 * operator's write (`init`, `npm start`'s demo), never the refresher's. A secret named by ARN is one
 * a stack should have created, so it is not created here. `clientRequestToken` names the version.
 * Returns the version id and whether the secret was created.
 */
export async function putOrCreateSecret(
  secrets: SecretsManagerClient,
  secretId: string,
  role: SecretRole,
  text: string,
  clientRequestToken?: string,
): Promise<{ readonly versionId: string | undefined; readonly created: boolean }> {
  try {
    const put = await secrets.send(new PutSecretValueCommand({ SecretId: secretId, SecretString: text, ClientRequestToken: clientRequestToken }));
    return { versionId: put.VersionId, created: false };
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
  }
  if (secretId.startsWith("arn:")) {
    throw new RefreshError(`the ${role} ${secretId} does not exist and cannot be created by ARN: deploy the stack (it creates it) or pass a name`, { kind: "secret" });
  }
  const created = await secrets.send(new CreateSecretCommand({ Name: secretId, SecretString: text, ClientRequestToken: clientRequestToken, Description: `token-refresher ${role}` }));
  return { versionId: created.VersionId, created: true };
}
