import { PlatformError, type FailureOutcome } from "../errors.js";
import { HttpClient, type HttpAnswer, type RequestBody } from "../http/client.js";
import type { Deadline } from "../refresh/deadline.js";
import { credentialField, tlsMaterial } from "../secrets/client-secret.js";
import type { SecretObject } from "../secrets/fields.js";
import { GrantReader } from "./grant.js";
import type { TokenDialect, TokenGrant } from "./types.js";

const AUTH_PATH = "/iocm/app/sec/v1.1.0";

/**
 * Huawei IoT northbound (OceanConnect) authentication: `login` (form-encoded appId/secret) and
 * `refreshToken` (JSON appId/secret/refreshToken). Errors arrive as `{error_code, error_desc}`.
 */
export function createIotDialect(endpointUrl: string, clientSecret: SecretObject, timeoutMs: number): TokenDialect {
  const appId = credentialField(clientSecret, "appId");
  const secret = credentialField(clientSecret, "secret");
  const http = new HttpClient(tlsMaterial(clientSecret), timeoutMs);

  const call = async (operation: "login" | "refreshToken", body: RequestBody, deadline: Deadline): Promise<TokenGrant> => {
    const answer = await http.post(`${endpointUrl}${AUTH_PATH}/${operation}`, body, deadline);
    if (answer.status !== 200) throw iotError(operation, answer);
    const grant = new GrantReader(`IoT ${operation}`, answer.json);
    return {
      accessToken: grant.token("accessToken"),
      refreshToken: grant.token("refreshToken"),
      tokenType: grant.optionalText("tokenType") ?? "bearer",
      scope: grant.optionalText("scope"),
      expiresInSeconds: grant.seconds("expiresIn"),
    };
  };

  return {
    refresh: (refreshToken, deadline) => call("refreshToken", { json: { appId, secret, refreshToken } }, deadline),
    bootstrap: (deadline) => call("login", { form: { appId, secret } }, deadline),
    close: () => http.close(),
  };
}

/** Maps an IoT error answer onto the spec's error table. */
function iotError(operation: string, answer: HttpAnswer): PlatformError {
  const body = (typeof answer.json === "object" && answer.json !== null ? answer.json : {}) as Record<string, unknown>;
  const code = typeof body.error_code === "string" || typeof body.error_code === "number" ? String(body.error_code) : undefined;
  const description = typeof body.error_desc === "string" ? body.error_desc.slice(0, 200) : undefined;
  const status = answer.status;
  let outcome: FailureOutcome = "RefreshFailed";
  if (status === 401 && code === "100208") outcome = "CredentialRejected";
  if (code === "100247") outcome = "AppFrozen";
  const retryable = status >= 500 || (status === 403 && code === "1010009") || status === 429;
  const detail = [code && `error_code ${code}`, description].filter(Boolean).join(": ");
  return new PlatformError(`IoT ${operation} answered HTTP ${status}${detail ? ` ${detail}` : ""}`, {
    outcome,
    retryable,
    httpStatus: status,
    errorCode: code,
  });
}
