import { GetSecretValueCommand, type SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SecretFormatError } from "../errors.js";
import type { TlsMaterial } from "../http/client.js";
import { optionalString, parseSecretObject, requiredString, type SecretObject, type SecretSource } from "./fields.js";

/** The client secret, for messages: its id is not named (field checks run on its parsed value). */
export const CLIENT_SECRET: SecretSource = { role: "client secret" };
const MAX_PEM_CHARS = 16_384;

/** The client secret's current value and version (a new version resets a failing credential's backoff). */
export interface ClientSecretVersion {
  readonly versionId: string | undefined;
  readonly value: SecretObject;
}

/** Reads the client secret (read-only for the refresher). Dialects validate their own fields. */
export async function readClientSecretVersion(secrets: SecretsManagerClient, secretId: string): Promise<ClientSecretVersion> {
  const answer = await secrets.send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: "AWSCURRENT" }));
  return { versionId: answer.VersionId, value: parseSecretObject(CLIENT_SECRET, answer.SecretString) };
}

export async function readClientSecret(secrets: SecretsManagerClient, secretId: string): Promise<SecretObject> {
  return (await readClientSecretVersion(secrets, secretId)).value;
}

/** A credential field of the client secret (appId, secret, clientId, clientSecret). */
export function credentialField(secret: SecretObject, field: string, maxLength = 256): string {
  return requiredString(CLIENT_SECRET, secret, field, maxLength);
}

/** Optional `caCertificate`, `clientCertificate`, `clientKey` PEM fields; cert and key go together. */
export function tlsMaterial(secret: SecretObject): TlsMaterial {
  const pem = (field: string, marker: string): string | undefined => {
    const value = optionalString(CLIENT_SECRET, secret, field, MAX_PEM_CHARS);
    if (value !== undefined && !value.includes(`-----BEGIN ${marker}`)) {
      throw new SecretFormatError(CLIENT_SECRET.role, field, `must be PEM text starting with -----BEGIN ${marker}`);
    }
    return value;
  };
  const ca = pem("caCertificate", "CERTIFICATE");
  const cert = pem("clientCertificate", "CERTIFICATE");
  const key = pem("clientKey", "");
  if ((cert === undefined) !== (key === undefined)) {
    throw new SecretFormatError(CLIENT_SECRET.role, cert === undefined ? "clientCertificate" : "clientKey", "is required when the other half of the client certificate is set");
  }
  return { ...(ca && { ca }), ...(cert && { cert }), ...(key && { key }) };
}
