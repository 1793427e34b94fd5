import { PlatformError, type FailureOutcome } from "../errors.js";
import { DEFAULT_HTTP_TIMEOUT_MS, HttpClient, httpsUrl, type HttpAnswer, type RequestBody } from "../http/client.js";
import { Redactor } from "../redaction.js";
import { Deadline } from "../refresh/deadline.js";
import { credentialField, tlsMaterial } from "../secrets/client-secret.js";
import { GrantReader } from "../dialects/grant.js";

export const IOT_AUTH_PATH = "/iocm/app/sec/v1.1.0";

/** The platform's `error_code` values the refresher acts on (docs/clients.md). */
export const IOT_ERROR_CODES = {
  /** 401: appId, secret or refreshToken is wrong. */
  credentialsRejected: "100208",
  /** 400: the application is frozen (arrears). */
  appFrozen: "100247",
  /** 400: the app's user may not call the API. */
  noPermission: "100449",
  /** 400: a mandatory parameter is missing or empty. */
  missingParameter: "102202",
  /** 400: a parameter is invalid. */
  invalidParameter: "50400",
  /** 403: more than 100 calls in 60 s for the appId. */
  throttled: "1010009",
  /** 500: internal error on the platform. */
  internalError: "50252",
} as const;

/** The answer of `login` and `refreshToken` (the platform's AuthOutDTO / AuthRefreshOutDTO fields). */
export interface IotAuthResult {
  readonly accessToken: string;
  /** Valid for one month; a refresh token works once. */
  readonly refreshToken: string;
  /** Lifetime of the access token in seconds. */
  readonly expiresIn: number;
  readonly scope?: string;
  readonly tokenType: string;
}

/** The app's credentials and TLS material, with the client secret's field names (docs/secrets.md, "Client secret"). */
export interface IotAuthClientOptions {
  /** The platform's base URL, `https://host:8743`. */
  readonly endpointUrl: string;
  readonly appId: string;
  readonly secret: string;
  /** PEM of the CA that issued the platform's certificate; without it, the system trust store applies. */
  readonly caCertificate?: string | undefined;
  /** PEM client certificate and its key, for mutual TLS. */
  readonly clientCertificate?: string | undefined;
  readonly clientKey?: string | undefined;
  /** Timeout of one call, connect to last byte. */
  readonly timeoutMs?: number | undefined;
}

/** Per call: a deadline shared with other calls (the refresher's run budget). */
export interface IotCallOptions {
  readonly deadline?: Deadline | undefined;
}

/**
 * Typed client of the Huawei IoT northbound authentication API: `login` (form-encoded appId and
 * secret) and `refreshToken` (JSON appId, secret, refreshToken), one HTTPS attempt each, with
 * certificate verification always on. Errors are typed: PlatformError (HTTP status and
 * `error_code`, see IOT_ERROR_CODES), ProtocolError (a 200 answer that is no token answer) and
 * NetworkError; their messages never contain a credential or token.
 */
export class IotAuthClient {
  private readonly appId: string;
  private readonly secret: string;
  private readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly http: HttpClient;
  /** Every secret value a request carries, for error texts a gateway may quote them in. */
  private readonly credentials: Readonly<Record<string, unknown>>;

  constructor(options: IotAuthClientOptions) {
    // Validated with the client secret's own rules, so the Lambda and a direct user see the same errors.
    const fields: Readonly<Record<string, unknown>> = { ...options };
    this.appId = credentialField(fields, "appId");
    this.secret = credentialField(fields, "secret");
    this.baseUrl = httpsUrl("endpointUrl", options.endpointUrl).replace(/\/+$/, "");
    this.timeoutMs = options.timeoutMs ?? DEFAULT_HTTP_TIMEOUT_MS;
    this.http = new HttpClient(tlsMaterial(fields), this.timeoutMs);
    this.credentials = fields;
  }

  /** A client from a client secret's JSON object (appId, secret, caCertificate, clientCertificate, clientKey), validated as the refresher validates it. */
  static fromClientSecret(clientSecret: Readonly<Record<string, unknown>>, options: Pick<IotAuthClientOptions, "endpointUrl" | "timeoutMs">): IotAuthClient {
    const appId = credentialField(clientSecret, "appId");
    const secret = credentialField(clientSecret, "secret");
    const tls = tlsMaterial(clientSecret);
    return new IotAuthClient({
      ...options,
      appId,
      secret,
      caCertificate: tls.ca,
      clientCertificate: tls.cert,
      clientKey: tls.key,
    });
  }

  /** Obtains a new pair with appId and secret; the previous pair stops working. */
  login(options: IotCallOptions = {}): Promise<IotAuthResult> {
    return this.call("login", { form: { appId: this.appId, secret: this.secret } }, options);
  }

  /** Exchanges a refresh token for a new pair; the previous pair stops working. */
  refreshToken(refreshToken: string, options: IotCallOptions = {}): Promise<IotAuthResult> {
    return this.call("refreshToken", { json: { appId: this.appId, secret: this.secret, refreshToken } }, options, refreshToken);
  }

  /** Releases the connections. */
  close(): Promise<void> {
    return this.http.close();
  }

  private async call(operation: "login" | "refreshToken", body: RequestBody, options: IotCallOptions, refreshToken?: string): Promise<IotAuthResult> {
    const deadline = options.deadline ?? new Deadline(this.timeoutMs);
    const answer = await this.http.post(`${this.baseUrl}${IOT_AUTH_PATH}/${operation}`, body, deadline);
    // A gateway may quote the request back: everything this request carried is redacted.
    if (answer.status !== 200) throw iotError(operation, answer, new Redactor().addClientSecret(this.credentials).add(refreshToken));
    const grant = new GrantReader(`IoT ${operation}`, answer.json);
    return {
      accessToken: grant.token("accessToken"),
      refreshToken: grant.token("refreshToken"),
      expiresIn: grant.seconds("expiresIn"),
      scope: grant.optionalText("scope"),
      tokenType: grant.optionalText("tokenType") ?? "bearer",
    };
  }
}

/**
 * Maps an IoT error answer onto the error table (docs/design.md, "Errors"). `error_code` and `error_desc`
 * are quoted only through `redactor` (bounded, no secret, no control character), as OAuth2's are.
 */
export function iotError(operation: string, answer: HttpAnswer, redactor: Redactor = new Redactor()): PlatformError {
  const body = (typeof answer.json === "object" && answer.json !== null ? answer.json : {}) as Record<string, unknown>;
  const code = redactor.code(body.error_code);
  const description = redactor.text(body.error_desc);
  const status = answer.status;
  let outcome: FailureOutcome = "RefreshFailed";
  if (status === 401 && code === IOT_ERROR_CODES.credentialsRejected) outcome = "CredentialRejected";
  if (code === IOT_ERROR_CODES.appFrozen) outcome = "AppFrozen";
  const retryable = status >= 500 || (status === 403 && code === IOT_ERROR_CODES.throttled) || status === 429;
  const detail = [code && `error_code ${code}`, description].filter(Boolean).join(": ");
  return new PlatformError(`IoT ${operation} answered HTTP ${status}${detail ? ` ${detail}` : ""}`, {
    outcome,
    retryable,
    httpStatus: status,
    errorCode: code,
  });
}
