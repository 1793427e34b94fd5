// Every error a consuming service can meet from TokenReader, caught by the classes token-refresher/reader
// exports, each naming the token secret: against moto, with AWS's refusals moto cannot give (access
// denied, KMS) answered by this file's own AWS front.
import { ResourceNotFoundException, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { SecretFormatError, TokenReader, TokenSecretReadError, TokenUnavailableError } from "../../lambda/reader/index.js";
import { startAwsFront, type AwsErrorAnswer, type AwsFront } from "../support/aws-front.js";
import { createSecret, putAsCurrent, uniqueName } from "../support/aws.js";

let front: AwsFront;

beforeAll(async () => {
  front = await startAwsFront({ upstream: inject("motoEndpoint") });
});

afterAll(() => front?.close());

/** What `getToken()` throws for the secret `secretId`, read through `secrets` (default: the suite's client). */
async function thrownBy(secretId: string, secrets = new SecretsManagerClient({})): Promise<unknown> {
  try {
    await new TokenReader({ secretId, secrets }).getToken();
  } catch (error) {
    return error;
  } finally {
    secrets.destroy();
  }
  throw new Error(`reading ${secretId} did not fail`);
}

const inAnHour = () => new Date(Date.now() + 3_600_000).toISOString();

describe("TokenReader errors", () => {
  it("no token yet, or an expired one: TokenUnavailableError naming the secret", async () => {
    const secretId = uniqueName("reader-errors-empty");
    await createSecret(secretId, {});
    const empty = await thrownBy(secretId);
    expect(empty).toBeInstanceOf(TokenUnavailableError);
    expect(empty).not.toBeInstanceOf(TokenSecretReadError);
    expect(empty).toMatchObject({ name: "TokenUnavailableError", secretId });
    expect((empty as Error).message).toContain(secretId);

    await putAsCurrent(secretId, { accessToken: "expired-token", expiresAt: new Date(Date.now() - 1_000).toISOString() });
    const expired = await thrownBy(secretId);
    expect(expired).toBeInstanceOf(TokenUnavailableError);
    expect(expired).toMatchObject({ secretId, message: expect.stringMatching(new RegExp(`^the access token in ${secretId} expired at `)) as unknown });
  });

  it.each([
    ["not JSON", "{not json", "SecretString", "is not valid JSON"],
    ["a JSON array", "[]", "SecretString", "must be a JSON object"],
    ["a number as accessToken", JSON.stringify({ accessToken: 42, expiresAt: "2030-01-01T00:00:00.000Z" }), "accessToken", "must be a string, got number"],
    ["a local time as expiresAt", JSON.stringify({ accessToken: "a", expiresAt: "2030-01-01 00:00" }), "expiresAt", "must be an ISO-8601 UTC timestamp"],
  ])("a token secret holding %s: SecretFormatError naming the secret and the field", async (_case, text, field, problem) => {
    const secretId = uniqueName("reader-errors-format");
    await createSecret(secretId, text);
    const error = await thrownBy(secretId);
    expect(error).toBeInstanceOf(SecretFormatError);
    expect(error).toMatchObject({ secretRole: "token secret", secretId, field });
    expect((error as Error).message).toMatch(new RegExp(`^token secret ${secretId}: ${field} ${problem}`));
    // The content is never quoted back.
    expect((error as Error).message).not.toContain(text);
  });

  it("no such secret: TokenSecretReadError (a TokenUnavailableError) with the SDK's error as its cause", async () => {
    const secretId = uniqueName("reader-errors-missing");
    const error = await thrownBy(secretId);
    expect(error).toBeInstanceOf(TokenSecretReadError);
    expect(error).toBeInstanceOf(TokenUnavailableError);
    // AWS answers 400, moto 404: either way an answer, so a status.
    expect(error).toMatchObject({ name: "TokenSecretReadError", secretId, errorName: "ResourceNotFoundException", httpStatus: expect.any(Number) as unknown });
    expect((error as Error).cause).toBeInstanceOf(ResourceNotFoundException);
    expect((error as Error).message).toMatch(new RegExp(`^the token secret ${secretId} could not be read: ResourceNotFoundException: `));
  });

  it.each<[string, AwsErrorAnswer]>([
    ["access denied (no grantRead)", { status: 400, type: "AccessDeniedException", message: "User: arn:aws:sts::123456789012:assumed-role/svc/x is not authorized to perform: secretsmanager:GetSecretValue" }],
    ["the KMS key refusing", { status: 400, type: "DecryptionFailure", message: "Secrets Manager can't decrypt the protected secret text using the provided KMS key." }],
    ["throttling", { status: 400, type: "ThrottlingException", message: "Rate exceeded" }],
  ])("%s: TokenSecretReadError naming the secret and AWS's error", async (_case, answer) => {
    const secretId = uniqueName("reader-errors-refused");
    await createSecret(secretId, { accessToken: "a", expiresAt: inAnHour() });
    const refusal = front.inject({ service: "secretsmanager", operation: "GetSecretValue", resource: secretId, fault: "fail", error: answer, times: Infinity });
    try {
      const error = await thrownBy(secretId, new SecretsManagerClient({ endpoint: front.endpoint, maxAttempts: 1 }));
      expect(error).toBeInstanceOf(TokenSecretReadError);
      expect(error).toMatchObject({ secretId, errorName: answer.type, httpStatus: answer.status });
      expect((error as Error).message).toContain(`the token secret ${secretId} could not be read: ${answer.type}: `);
    } finally {
      refusal.remove();
    }
  });

  it("no answer at all (nothing listening): TokenSecretReadError without an HTTP status", async () => {
    const secretId = uniqueName("reader-errors-unreachable");
    const error = await thrownBy(secretId, new SecretsManagerClient({ endpoint: "http://127.0.0.1:9", maxAttempts: 1 }));
    expect(error).toBeInstanceOf(TokenSecretReadError);
    expect(error).toMatchObject({ secretId, httpStatus: undefined });
    expect((error as TokenSecretReadError).errorName).not.toBe("");
  });
});
