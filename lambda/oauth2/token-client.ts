import { PlatformError, type FailureOutcome } from "../errors.js";
import { GrantReader } from "../dialects/grant.js";
import { DEFAULT_HTTP_TIMEOUT_MS, HttpClient, httpsUrl, type HttpAnswer } from "../http/client.js";
import { Redactor } from "../redaction.js";
import { Deadline } from "../refresh/deadline.js";
import { credentialField, tlsMaterial } from "../secrets/client-secret.js";

/** Lifetime assumed for an access token whose answer has no `expires_in` (RFC 6749 §5.1 makes it optional). */
export const DEFAULT_EXPIRES_IN_SECONDS = 3_600;

/** OAuth2 `error` codes that mean the refresh token or the client credentials are no longer accepted. */
export const REJECTED_CREDENTIAL_ERRORS: ReadonlySet<string> = new Set(["invalid_grant", "invalid_client", "unauthorized_client"]);

const WHERE = "OAuth2 token endpoint";

/** A token answer, in the same shape as the IoT client's. */
export interface OAuth2TokenResult {
  readonly accessToken: string;
  /** The new refresh token, or the one sent when the server did not rotate it (it stays valid, RFC 6749 §6). */
  readonly refreshToken: string;
  /** Lifetime of the access token in seconds (`expires_in`, or `defaultExpiresIn` when absent). */
  readonly expiresIn: number;
  readonly scope?: string;
  readonly tokenType: string;
}

/** The client's credentials and TLS material, with the client secret's field names (README, "Secrets"). */
export interface OAuth2TokenClientOptions {
  /** The token endpoint, `https://`. */
  readonly tokenUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** PEM of the CA that issued the server's certificate; without it, the system trust store applies. */
  readonly caCertificate?: string;
  /** PEM client certificate and its key, for servers that require mutual TLS. */
  readonly clientCertificate?: string;
  readonly clientKey?: string;
  /** Timeout of one call, connect to last byte. */
  readonly timeoutMs?: number;
  /** Seconds assumed when an answer has no `expires_in`. */
  readonly defaultExpiresIn?: number;
}

/** Per call: a deadline shared with other calls (the refresher's run budget). */
export interface OAuth2CallOptions {
  readonly deadline?: Deadline;
}

/**
 * Typed client of an OAuth2 token endpoint: the `refresh_token` grant (RFC 6749 §6) with
 * client_secret_post authentication, one HTTPS attempt per call, certificate verification always on.
 * Errors are typed: PlatformError (HTTP status and the `error` code), ProtocolError (a 200 answer
 * that is no token answer) and NetworkError; their messages never contain a credential or token.
 */
export class OAuth2TokenClient {
  private readonly clientId: string;
  private readonly clientSecret: string;
  private readonly tokenUrl: string;
  private readonly timeoutMs: number;
  private readonly defaultExpiresIn: number;
  private readonly http: HttpClient;
  /** Every secret value a request carries, for error texts a server may quote them in. */
  private readonly credentials: Readonly<Record<string, unknown>>;

  constructor(options: OAuth2TokenClientOptions) {
    // Validated with the client secret's own rules, so the Lambda and a direct user see the same errors.
    const fields: Readonly<Record<string, unknown>> = { ...options };
    this.clientId = credentialField(fields, "clientId");
    this.clientSecret = credentialField(fields, "clientSecret", 1_024);
    this.tokenUrl = httpsUrl("tokenUrl", options.tokenUrl);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_HTTP_TIMEOUT_MS;
    this.defaultExpiresIn = options.defaultExpiresIn ?? DEFAULT_EXPIRES_IN_SECONDS;
    this.http = new HttpClient(tlsMaterial(fields), this.timeoutMs);
    this.credentials = fields;
  }

  /** A client from a client secret's JSON object (clientId, clientSecret, caCertificate, clientCertificate, clientKey), validated as the refresher validates it. */
  static fromClientSecret(
    clientSecret: Readonly<Record<string, unknown>>,
    options: Pick<OAuth2TokenClientOptions, "tokenUrl" | "timeoutMs" | "defaultExpiresIn">,
  ): OAuth2TokenClient {
    const clientId = credentialField(clientSecret, "clientId");
    const secret = credentialField(clientSecret, "clientSecret", 1_024);
    const tls = tlsMaterial(clientSecret);
    return new OAuth2TokenClient({
      ...options,
      clientId,
      clientSecret: secret,
      caCertificate: tls.ca,
      clientCertificate: tls.cert,
      clientKey: tls.key,
    });
  }

  /** Exchanges a refresh token for a new access token (and, on servers that rotate, a new refresh token). */
  async refresh(refreshToken: string, options: OAuth2CallOptions = {}): Promise<OAuth2TokenResult> {
    const answer = await this.http.post(
      this.tokenUrl,
      { form: { grant_type: "refresh_token", refresh_token: refreshToken, client_id: this.clientId, client_secret: this.clientSecret } },
      options.deadline ?? new Deadline(this.timeoutMs),
    );
    // A server may quote the request back: everything this request carried is redacted.
    if (answer.status !== 200) throw oauth2Error(answer, new Redactor().addClientSecret(this.credentials).add(refreshToken));
    return readTokenResponse(answer.json, refreshToken, this.defaultExpiresIn);
  }

  /** Releases the connections. */
  close(): Promise<void> {
    return this.http.close();
  }
}

/**
 * Validates a 200 answer. Without `refresh_token` the server did not rotate: the old one stays
 * valid (RFC 6749 §6) and is kept. Without `expires_in`, `defaultExpiresIn` applies.
 */
export function readTokenResponse(json: unknown, previousRefreshToken: string, defaultExpiresIn: number): OAuth2TokenResult {
  const grant = new GrantReader(WHERE, json);
  return {
    accessToken: grant.token("access_token"),
    refreshToken: grant.has("refresh_token") ? grant.token("refresh_token") : previousRefreshToken,
    expiresIn: grant.has("expires_in") ? grant.seconds("expires_in") : defaultExpiresIn,
    scope: grant.optionalText("scope"),
    tokenType: grant.optionalText("token_type") ?? "Bearer",
  };
}

/**
 * Maps an error answer onto the error table (README, "Errors"): `invalid_grant`, `invalid_client`,
 * `unauthorized_client` (400 or 401) → CredentialRejected; 5xx, 429 and `temporarily_unavailable`
 * → retryable; any other answer → RefreshFailed with the `error` code. `error` and
 * `error_description` are quoted only through `redactor` (bounded, no secret, no control
 * character), as IoT's are.
 */
export function oauth2Error(answer: HttpAnswer, redactor: Redactor = new Redactor()): PlatformError {
  const body = typeof answer.json === "object" && answer.json !== null && !Array.isArray(answer.json) ? (answer.json as Record<string, unknown>) : {};
  const code = redactor.code(body.error);
  const description = redactor.text(body.error_description);
  const status = answer.status;
  let outcome: FailureOutcome = "RefreshFailed";
  if ((status === 400 || status === 401) && code !== undefined && REJECTED_CREDENTIAL_ERRORS.has(code)) outcome = "CredentialRejected";
  const retryable = outcome === "RefreshFailed" && (status >= 500 || status === 429 || code === "temporarily_unavailable");
  const detail = [code, description].filter(Boolean).join(": ");
  return new PlatformError(`${WHERE} answered HTTP ${status}${detail ? ` ${detail}` : ""}`, {
    outcome,
    retryable,
    httpStatus: status,
    errorCode: code,
  });
}
