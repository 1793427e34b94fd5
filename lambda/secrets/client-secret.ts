import { GetSecretValueCommand, type SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SecretFormatError } from "../errors.js";
import type { TlsMaterial } from "../http/client.js";
import { optionalString, parseSecretObject, requiredString, type SecretObject } from "./fields.js";

const ROLE = "client secret";
const MAX_PEM_CHARS = 16_384;

/** The client secret's current value and version (a new version resets a failing credential's backoff). */
export interface ClientSecretVersion {
  readonly versionId: string | undefined;
  readonly value: SecretObject;
}

/** Reads the client secret (read-only for the refresher). Dialects validate their own fields. */
export async function readClientSecretVersion(secrets: SecretsManagerClient, secretId: string): Promise<ClientSecretVersion> {
  const answer = await secrets.send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: "AWSCURRENT" }));
  return { versionId: answer.VersionId, value: parseSecretObject(ROLE, answer.SecretString) };
}

export async function readClientSecret(secrets: SecretsManagerClient, secretId: string): Promise<SecretObject> {
  return (await readClientSecretVersion(secrets, secretId)).value;
}

/** A credential field of the client secret (appId, secret, clientId, clientSecret). */
export function credentialField(secret: SecretObject, field: string, maxLength = 256): string {
  return requiredString(ROLE, secret, field, maxLength);
}

/** Optional `caCertificate`, `clientCertificate`, `clientKey` PEM fields; cert and key go together. */
export function tlsMaterial(secret: SecretObject): TlsMaterial {
  const pem = (field: string, marker: string): string | undefined => {
    const value = optionalString(ROLE, secret, field, MAX_PEM_CHARS);
    if (value !== undefined && !value.includes(`-----BEGIN ${marker}`)) {
      throw new SecretFormatError(ROLE, field, `must be PEM text starting with -----BEGIN ${marker}`);
    }
    return value;
  };
  const ca = pem("caCertificate", "CERTIFICATE");
  const cert = pem("clientCertificate", "CERTIFICATE");
  const key = pem("clientKey", "");
  if ((cert === undefined) !== (key === undefined)) {
    throw new SecretFormatError(ROLE, cert === undefined ? "clientCertificate" : "clientKey", "is required when the other half of the client certificate is set");
  }
  return { ...(ca && { ca }), ...(cert && { cert }), ...(key && { key }) };
}
