import { ConfigError, PlatformError, SecretFormatError, type FailureOutcome } from "../errors.js";
import { GrantReader } from "../dialects/grant.js";
import { DEFAULT_HTTP_TIMEOUT_MS, HttpClient, httpsUrl, type HttpAnswer } from "../http/client.js";
import { Redactor } from "../redaction.js";
import { Deadline } from "../refresh/deadline.js";
import { CLIENT_SECRET, credentialField, tlsMaterial } from "../secrets/client-secret.js";
import { optionalString } from "../secrets/fields.js";
import { OAUTH2_OPTION_SETTINGS, oauth2OptionProblem, type OAuth2Option } from "../config/rules.js";
import { SETTINGS } from "../config/table.js";
import { DEFAULT_OAUTH2_CLIENT_AUTH, MAX_SCOPE_CHARS, type OAuth2ClientAuth } from "../settings.js";

/** Lifetime assumed for an access token whose answer has no `expires_in` (RFC 6749 §5.1 makes it optional). */
export const DEFAULT_EXPIRES_IN = SETTINGS.oauth2DefaultExpiresInSeconds.default;

/** OAuth2 `error` codes that mean the refresh token or the client credentials are no longer accepted. */
export const REJECTED_CREDENTIAL_ERRORS: ReadonlySet<string> = new Set(["invalid_grant", "invalid_client", "unauthorized_client"]);

const WHERE = "OAuth2 token endpoint";
/** Longest client secret accepted (longer than the 256 of other credential fields: some servers issue long ones). */
const MAX_CLIENT_SECRET_CHARS = 1_024;

/** A `client_credentials` answer: an access token and no refresh token (RFC 6749 §4.4.3). */
export interface OAuth2AccessTokenResult {
  readonly accessToken: string;
  /** Lifetime of the access token in seconds (`expires_in`, or `defaultExpiresIn` when absent). */
  readonly expiresIn: number;
  readonly scope?: string;
  readonly tokenType: string;
}

/** A `refresh_token` answer, in the same shape as the IoT client's. */
export interface OAuth2TokenResult extends OAuth2AccessTokenResult {
  /** The new refresh token, or the one sent when the server did not rotate it (it stays valid, RFC 6749 §6). */
  readonly refreshToken: string;
  /** The refresh token's lifetime in seconds, when the server says (`refresh_token_expires_in`, an extension some servers send). */
  readonly refreshTokenExpiresIn?: number;
}

/** The client's credentials and TLS material, with the client secret's field names (docs/secrets.md, "Client secret"). */
export interface OAuth2TokenClientOptions {
  /** The token endpoint, `https://`. */
  readonly tokenUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** PEM of the CA that issued the server's certificate; without it, the system trust store applies. */
  readonly caCertificate?: string | undefined;
  /** PEM client certificate and its key, for servers that require mutual TLS. */
  readonly clientCertificate?: string | undefined;
  readonly clientKey?: string | undefined;
  /** Timeout of one call, connect to last byte. */
  readonly timeoutMs?: number | undefined;
  /** Seconds assumed when an answer has no `expires_in`. */
  readonly defaultExpiresIn?: number | undefined;
  /**
   * How the client authenticates (RFC 6749 §2.3.1): `client_secret_post` (default: `client_id` and
   * `client_secret` form fields) or `client_secret_basic` (HTTP Basic with the form-encoded id and secret).
   */
  readonly clientAuth?: OAuth2ClientAuth | undefined;
  /** `scope` sent with every grant (space-separated scope tokens). */
  readonly scope?: string | undefined;
  /** `audience` sent with every grant, for servers that issue tokens per API (e.g. Auth0). */
  readonly audience?: string | undefined;
}


/** Per call: a deadline shared with other calls (the refresher's run budget). */
export interface OAuth2CallOptions {
  readonly deadline?: Deadline | undefined;
}

/**
 * Typed client of an OAuth2 token endpoint: the `refresh_token` grant (RFC 6749 §6) and the
 * `client_credentials` grant (§4.4), with client_secret_post or client_secret_basic authentication
 * and an optional `scope` and `audience`, one HTTPS attempt per call, certificate verification always on.
 * Errors are typed: PlatformError (HTTP status and the `error` code), ProtocolError (a 200 answer
 * that is no token answer) and NetworkError; their messages never contain a credential or token.
 */
export class OAuth2TokenClient {
  private readonly clientId: string;
  private readonly clientSecret: string;
  private readonly tokenUrl: string;
  private readonly timeoutMs: number;
  private readonly defaultExpiresIn: number;
  private readonly clientAuth: OAuth2ClientAuth;
  /** `scope` and `audience`, when set: sent with every grant. */
  private readonly grantParameters: Readonly<Record<string, string>>;
  private readonly http: HttpClient;
  /** Every secret value a request carries, for error texts a server may quote them in. */
  private readonly credentials: Readonly<Record<string, unknown>>;

  constructor(options: OAuth2TokenClientOptions) {
    // Validated with the client secret's own rules, so the Lambda and a direct user see the same errors.
    const fields: Readonly<Record<string, unknown>> = { ...options };
    this.clientId = credentialField(fields, "clientId");
    this.clientSecret = credentialField(fields, "clientSecret", MAX_CLIENT_SECRET_CHARS);
    this.tokenUrl = httpsUrl("tokenUrl", options.tokenUrl);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_HTTP_TIMEOUT_MS;
    this.defaultExpiresIn = options.defaultExpiresIn ?? DEFAULT_EXPIRES_IN;
    this.http = new HttpClient(tlsMaterial(fields), this.timeoutMs);
    this.credentials = fields;
    const { clientAuth, ...grantParameters } = checkedOptions(options, (option, problem) => new ConfigError(`${option} ${problem}`));
    this.clientAuth = (clientAuth as OAuth2ClientAuth | undefined) ?? DEFAULT_OAUTH2_CLIENT_AUTH;
    this.grantParameters = grantParameters;
  }

  /** A client from a client secret's JSON object (clientId, clientSecret, caCertificate, clientCertificate, clientKey), validated as the refresher validates it. */
  static fromClientSecret(
    clientSecret: Readonly<Record<string, unknown>>,
    options: Pick<OAuth2TokenClientOptions, "tokenUrl" | "timeoutMs" | "defaultExpiresIn" | "clientAuth" | "scope" | "audience">,
  ): OAuth2TokenClient {
    const clientId = credentialField(clientSecret, "clientId");
    const secret = credentialField(clientSecret, "clientSecret", MAX_CLIENT_SECRET_CHARS);
    const tls = tlsMaterial(clientSecret);
    const field = (name: string) => optionalString(CLIENT_SECRET, clientSecret, name, MAX_SCOPE_CHARS)?.trim() || undefined;
    const fromSecret = checkedOptions(
      { clientAuth: field("clientAuth"), scope: field("scope"), audience: field("audience") },
      (name, problem) => new SecretFormatError("client secret", name, problem),
    ) as Pick<OAuth2TokenClientOptions, OAuth2Option>;
    return new OAuth2TokenClient({
      ...options,
      ...fromSecret,
      clientId,
      clientSecret: secret,
      caCertificate: tls.ca,
      clientCertificate: tls.cert,
      clientKey: tls.key,
    });
  }

  /** Exchanges a refresh token for a new access token (and, on servers that rotate, a new refresh token). */
  async refresh(refreshToken: string, options: OAuth2CallOptions = {}): Promise<OAuth2TokenResult> {
    const answer = await this.grant({ grant_type: "refresh_token", refresh_token: refreshToken }, options, refreshToken);
    return readTokenResponse(answer.json, refreshToken, this.defaultExpiresIn);
  }

  /**
   * Obtains an access token with the client's own credentials (RFC 6749 §4.4). A refresh token in
   * the answer is ignored: the next token comes from the same grant.
   */
  async clientCredentials(options: OAuth2CallOptions = {}): Promise<OAuth2AccessTokenResult> {
    const answer = await this.grant({ grant_type: "client_credentials" }, options);
    return readAccessTokenResponse(new GrantReader(WHERE, answer.json), this.defaultExpiresIn);
  }

  /** One grant request with the client's authentication and parameters; an answer other than 200 is thrown as a PlatformError. */
  private async grant(form: Record<string, string>, options: OAuth2CallOptions, ...requestSecrets: string[]): Promise<HttpAnswer> {
    const basic = this.clientAuth === "client_secret_basic" ? basicCredentials(this.clientId, this.clientSecret) : undefined;
    const answer = await this.http.post(
      this.tokenUrl,
      { form: { ...form, ...this.grantParameters, ...(basic === undefined && { client_id: this.clientId, client_secret: this.clientSecret }) } },
      options.deadline ?? new Deadline(this.timeoutMs),
      basic === undefined ? {} : { authorization: `Basic ${basic}` },
    );
    // A server may quote the request back: everything this request carried is redacted, the Basic credentials too.
    if (answer.status !== 200) throw oauth2Error(answer, new Redactor().addClientSecret(this.credentials).add(basic, ...requestSecrets));
    return answer;
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
    ...readAccessTokenResponse(grant, defaultExpiresIn),
    refreshToken: grant.has("refresh_token") ? grant.token("refresh_token") : previousRefreshToken,
    ...(grant.has("refresh_token_expires_in") && { refreshTokenExpiresIn: grant.seconds("refresh_token_expires_in") }),
  };
}

function readAccessTokenResponse(grant: GrantReader, defaultExpiresIn: number): OAuth2AccessTokenResult {
  return {
    accessToken: grant.token("access_token"),
    expiresIn: grant.has("expires_in") ? grant.seconds("expires_in") : defaultExpiresIn,
    scope: grant.optionalText("scope"),
    tokenType: grant.optionalText("token_type") ?? "Bearer",
  };
}

/** RFC 6749 §2.3.1: the Basic credentials are the form-encoded (Appendix B) id and secret, joined by ":" and base64-encoded. */
export function basicCredentials(clientId: string, clientSecret: string): string {
  const formEncoded = (value: string) => new URLSearchParams([["", value]]).toString().slice(1);
  return Buffer.from(`${formEncoded(clientId)}:${formEncoded(clientSecret)}`, "utf8").toString("base64");
}

/**
 * Maps an error answer onto the error table (docs/oauth2.md, "Errors"): `invalid_grant`, `invalid_client`,
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

/** The OAuth2 options that are set, each checked by its setting's rule; `invalid` names a bad one its source's way. */
function checkedOptions(
  values: Partial<Record<OAuth2Option, string | undefined>>,
  invalid: (option: OAuth2Option, problem: string) => Error,
): Partial<Record<OAuth2Option, string>> {
  const checked: Partial<Record<OAuth2Option, string>> = {};
  for (const option of Object.keys(OAUTH2_OPTION_SETTINGS) as OAuth2Option[]) {
    const value = values[option];
    if (value === undefined) continue;
    const problem = oauth2OptionProblem(option, value);
    if (problem) throw invalid(option, `${problem}${option === "clientAuth" ? `, got "${value}"` : ""}`);
    checked[option] = value;
  }
  return checked;
}
