import { X509Certificate, createPrivateKey } from "node:crypto";
import { lookup } from "node:dns/promises";
import { isIP, connect as tcpConnect, type Socket } from "node:net";
import { connect as tlsConnect, type TLSSocket } from "node:tls";
import { Agent, request } from "undici";
import { oauth2TokenUrl, variableOf } from "../../../lambda/config/index.js";
import type { DialectName } from "../../../lambda/settings.js";
import { IOT_AUTH_PATH } from "../../../lambda/iot/auth-client.js";
import type { TlsMaterial } from "../../../lambda/http/client.js";
import { SecretFormatError, errorKindOf, type ErrorKind } from "../../../lambda/errors.js";
import { readClientSecret, tlsMaterial } from "../../../lambda/secrets/client-secret.js";
import { CliError, EXIT, EXIT_FOR_KIND, type ExitCode } from "../errors.js";
import type { CliIo } from "../io.js";
import { errorFact, type Output } from "../output.js";
import { secretsClient, someSettings, stringOption, type ParsedArgs } from "../settings.js";

const IOT_REFRESH_PATH = `${IOT_AUTH_PATH}/refreshToken`;
/** The endpoint setting, as hints name it. */
const ENDPOINT = variableOf("endpointUrl");

/** What reaching the token API takes: no token secret, state table or credential name. */
interface EndpointConfig {
  readonly dialect: DialectName;
  readonly clientSecretId: string;
  readonly endpointUrl: string;
  readonly oauth2TokenPath: string;
  readonly httpTimeoutMs: number;
}

export type StepName = "client secret" | "DNS" | "TCP" | "TLS" | "HTTP";

export interface StepResult {
  readonly step: StepName;
  readonly status: "ok" | "warn" | "fail";
  readonly detail: string;
}

/** A failed step: its diagnosis says what is wrong and what to change. */
class StepFailure extends Error {
  constructor(
    readonly diagnosis: string,
    /** `secret` for the client secret's own problems; `unreachable` for the network's. */
    readonly kind: ErrorKind = "unreachable",
  ) {
    super(diagnosis);
  }
}

/**
 * Reaches the token endpoint step by step — DNS, TCP, TLS (with the client secret's CA and client
 * certificate, verification always on), then one harmless HTTP GET — and says which step fails and
 * why. It never calls login or refresh: no token is used, issued or invalidated.
 */
export async function checkCommand(args: ParsedArgs, io: CliIo, out: Output): Promise<ExitCode> {
  const config = someSettings(args.env, ["dialect", "clientSecretId", "endpointUrl", "oauth2TokenPath", "httpTimeoutMs"], ["clientSecretId", "endpointUrl"]) as unknown as EndpointConfig;
  const timeoutMs = timeoutOption(stringOption(args, "timeout"), config.httpTimeoutMs);
  const target = new URL(config.dialect === "iot" ? `${config.endpointUrl}${IOT_REFRESH_PATH}` : oauth2TokenUrl(config.endpointUrl, config.oauth2TokenPath));
  const steps: StepResult[] = [];
  const report = (result: StepResult) => {
    steps.push(result);
    out.text(`${result.status.toUpperCase().padEnd(4)}  ${result.step.padEnd(13)}  ${result.detail}\n`);
  };
  out.text(`checking ${target.origin}${target.pathname} (${config.dialect})\n`);

  let failure: StepFailure | undefined;
  let failedStep: StepName | undefined;
  const run = async <T>(step: StepName, action: () => Promise<{ value: T; detail: string; warn?: boolean }>): Promise<T> => {
    try {
      const { value, detail, warn } = await action();
      report({ step, status: warn ? "warn" : "ok", detail });
      return value;
    } catch (error) {
      const failure = error instanceof StepFailure ? error : undefined;
      if (!failure) throw error;
      report({ step, status: "fail", detail: failure.diagnosis });
      failedStep = step;
      throw failure;
    }
  };

  try {
    const tls = await run("client secret", () => readTls(config, args, io));
    const host = target.hostname.replace(/^\[|\]$/g, "");
    const port = Number(target.port || 443);
    const address = await run("DNS", () => resolveHost(host));
    const socket = await run("TCP", () => openTcp(address, port, timeoutMs));
    await run("TLS", () => handshake(socket, host, tls, timeoutMs));
    await run("HTTP", () => httpProbe(target, tls, timeoutMs));
  } catch (error) {
    if (!(error instanceof StepFailure)) throw error;
    failure = error;
  }
  const exitCode = failure ? EXIT_FOR_KIND[failure.kind] : EXIT.ok;
  out.done(
    {
      target: `${target.origin}${target.pathname}`,
      reachable: failure === undefined,
      steps,
      exitCode,
      ...(failure && { error: errorFact(failure.kind, `the ${failedStep} step failed: ${failure.diagnosis}`, undefined) }),
    },
    failure === undefined ? "reachable\n" : `not reachable: the ${failedStep} step failed\n`,
  );
  return exitCode;
}

function timeoutOption(raw: string | undefined, fallbackMs: number): number {
  if (raw === undefined) return fallbackMs;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 120) throw new CliError(`--timeout must be a number of seconds between 0 and 120, got "${raw}"`, "usage");
  return Math.round(seconds * 1000);
}

function describeCert(pem: string): string {
  try {
    const cert = new X509Certificate(pem);
    return `${cn(cert.subject)}, valid until ${new Date(cert.validTo).toISOString().slice(0, 10)}`;
  } catch {
    return "unparseable certificate";
  }
}

function cn(distinguishedName: string): string {
  const match = /(?:^|\n)CN=([^\n]+)/.exec(distinguishedName);
  return match ? `CN=${match[1]}` : distinguishedName.replace(/\n/g, ", ");
}

async function readTls(config: EndpointConfig, args: ParsedArgs, io: CliIo): Promise<{ value: TlsMaterial; detail: string; warn?: boolean }> {
  const secrets = secretsClient(io, args.env);
  let tls: TlsMaterial;
  try {
    tls = tlsMaterial(await readClientSecret(secrets, config.clientSecretId));
  } catch (error) {
    const name = error instanceof Error ? error.name : "Error";
    if (error instanceof SecretFormatError) throw new StepFailure(error.message, "secret");
    throw new StepFailure(`cannot read ${config.clientSecretId}: ${name}${name === "ResourceNotFoundException" ? " — create it with token-refresher init" : ""}`, errorKindOf(error));
  } finally {
    if (!io.secrets) secrets.destroy();
  }
  const notes = [tls.ca ? `CA: caCertificate (${describeCert(tls.ca)})` : "CA: the system trust store (no caCertificate)"];
  let warn = false;
  if (tls.cert && tls.key) {
    const cert = new X509Certificate(tls.cert);
    let matches = false;
    try {
      matches = cert.checkPrivateKey(createPrivateKey(tls.key));
    } catch {
      throw new StepFailure("clientKey is not a readable private key (PEM, unencrypted)", "secret");
    }
    if (!matches) throw new StepFailure("clientKey does not belong to clientCertificate: store the key the certificate was issued for", "secret");
    const expires = Date.parse(cert.validTo);
    const now = (io.now ?? Date.now)();
    if (expires <= now) throw new StepFailure(`clientCertificate (${cn(cert.subject)}) expired on ${new Date(expires).toISOString()}: renew it and store it in the client secret`, "secret");
    if (expires - now < 14 * 86_400_000) warn = true;
    notes.push(`client certificate: ${describeCert(tls.cert)}${warn ? " — EXPIRES WITHIN 14 DAYS" : ""}`);
  } else {
    notes.push("client certificate: none");
  }
  return { value: tls, detail: notes.join("; "), warn };
}

async function resolveHost(host: string): Promise<{ value: string; detail: string }> {
  if (isIP(host)) return { value: host, detail: `${host} is an IP address (no lookup)` };
  try {
    const addresses = await lookup(host, { all: true });
    return { value: addresses[0]!.address, detail: `${host} → ${addresses.map((a) => a.address).join(", ")}` };
  } catch (error) {
    const code = (error as { code?: string }).code ?? "error";
    const why =
      code === "ENOTFOUND"
        ? `no such host — check the host name in ${ENDPOINT} (and, in a VPC, that its DNS resolves public names)`
        : code === "EAI_AGAIN"
          ? "the DNS server did not answer (temporary failure) — check this machine's or the VPC's DNS"
          : "lookup failed";
    throw new StepFailure(`cannot resolve ${host} (${code}): ${why}`);
  }
}

function openTcp(address: string, port: number, timeoutMs: number): Promise<{ value: Socket; detail: string }> {
  const started = performance.now();
  const where = `${isIP(address) === 6 ? `[${address}]` : address}:${port}`;
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ host: address, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new StepFailure(`no answer from ${where} within ${timeoutMs} ms: a firewall, security group or missing route drops the packets (a Lambda in a VPC needs a NAT gateway or a route to the platform)`));
    }, timeoutMs);
    socket.once("connect", () => {
      clearTimeout(timer);
      resolve({ value: socket, detail: `connected to ${where} in ${Math.round(performance.now() - started)} ms` });
    });
    socket.once("error", (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const code = error.code ?? "error";
      const why: Record<string, string> = {
        ECONNREFUSED: `connection refused — nothing listens on that port; check the port in ${ENDPOINT} (the IoT platform uses 8743)`,
        EHOSTUNREACH: "host unreachable — no route to it from here",
        ENETUNREACH: "network unreachable — no route to it from here",
        ECONNRESET: "the connection was reset — a firewall may block it",
      };
      reject(new StepFailure(`cannot connect to ${where} (${code}): ${why[code] ?? "connect failed"}`));
    });
  });
}

const UNKNOWN_AUTHORITY = new Set([
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_UNTRUSTED",
  "CERT_SIGNATURE_FAILURE",
]);

/** Turns a TLS-level error into what to change. `afterHandshake`: the server hung up once the handshake was done. */
export function diagnoseTls(code: string | undefined, message: string, tls: TlsMaterial, afterHandshake: boolean): string {
  const c = code ?? "";
  if (UNKNOWN_AUTHORITY.has(c)) {
    return tls.ca
      ? `certificate signed by unknown authority (${c}): the caCertificate in the client secret did not issue the server's certificate — store the CA that did (for IoT on port 8743, Huawei's CA)`
      : `certificate signed by unknown authority (${c}) — set caCertificate in the client secret to the platform's CA certificate (PEM)`;
  }
  if (c === "ERR_TLS_CERT_ALTNAME_INVALID") {
    const at = message.lastIndexOf("altnames: ");
    const names = at >= 0 ? message.slice(at + "altnames: ".length) : undefined;
    return `the server's certificate does not name this host${names ? ` (it names ${names})` : ""} — use one of those names in ${ENDPOINT}`;
  }
  if (c === "CERT_HAS_EXPIRED") return "the server's certificate has expired — the platform must renew it (or check this machine's clock)";
  if (c === "CERT_NOT_YET_VALID") return "the server's certificate is not valid yet — check this machine's clock";
  if (/WRONG_VERSION_NUMBER|EPROTO/.test(c) || /wrong version number/i.test(message)) {
    return `the server does not speak TLS on this port (${c || "protocol error"}) — check the port, and that the service at ${ENDPOINT} is HTTPS`;
  }
  const refusedClient = /ALERT_(CERTIFICATE_REQUIRED|HANDSHAKE_FAILURE|BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_UNKNOWN|ACCESS_DENIED|DECRYPT_ERROR)/.test(c);
  if (refusedClient || afterHandshake || c === "ECONNRESET" || c === "UND_ERR_SOCKET") {
    const why = c ? ` (${c})` : " (the server closed the connection right after the handshake)";
    return tls.cert
      ? `the server refused the client certificate${why} — use a client certificate issued under a CA the platform trusts (the one registered for the app) in clientCertificate/clientKey`
      : `the server requires a client certificate${why} — set clientCertificate and clientKey in the client secret`;
  }
  return `TLS handshake failed (${c || message})`;
}

function handshake(socket: Socket, host: string, tls: TlsMaterial, timeoutMs: number): Promise<{ value: undefined; detail: string }> {
  return new Promise((resolve, reject) => {
    const secure: TLSSocket = tlsConnect({
      socket,
      host,
      ...(isIP(host) ? {} : { servername: host }),
      ...tls,
      // Verification stays on (the default); named here so no one turns it off.
      rejectUnauthorized: true,
    });
    let settled = false;
    let acceptedDetail = "";
    let sessionSeen = false;
    const finish = (outcome: { ok: string } | { fail: string }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      secure.destroy();
      socket.destroy();
      if ("ok" in outcome) resolve({ value: undefined, detail: outcome.ok });
      else reject(new StepFailure(outcome.fail));
    };
    const timer = setTimeout(() => {
      // Handshake done but no word from the server since: TLS 1.2, or a server that sends no session ticket.
      if (acceptedDetail) finish({ ok: acceptedDetail });
      else finish({ fail: `no TLS handshake with ${host} within ${timeoutMs} ms — is this an HTTPS port?` });
    }, timeoutMs);
    secure.once("secureConnect", () => {
      const peer = secure.getPeerCertificate();
      const subject = peer.subject?.CN ? `CN=${String(peer.subject.CN)}` : "certificate";
      const issuer = peer.issuer?.CN ? `CN=${String(peer.issuer.CN)}` : "?";
      const until = peer.valid_to ? `, valid until ${new Date(peer.valid_to).toISOString().slice(0, 10)}` : "";
      const protocol = secure.getProtocol() ?? "TLS";
      acceptedDetail =
        `${protocol}, server ${subject} issued by ${issuer}${until}, verified with ${tls.ca ? "caCertificate" : "the system trust store"}; ` +
        `client certificate ${tls.cert ? "presented and accepted" : "not configured, none asked for"}`;
      // TLS 1.3 servers judge the client certificate after this event: a session ticket means accepted,
      // an alert or a hang-up means refused. TLS 1.2 has judged it already.
      if (sessionSeen || protocol !== "TLSv1.3") finish({ ok: acceptedDetail });
      else setTimeout(() => finish({ ok: acceptedDetail }), Math.min(1_000, timeoutMs)).unref();
    });
    secure.on("session", () => {
      sessionSeen = true;
      if (acceptedDetail) finish({ ok: acceptedDetail });
    });
    secure.once("error", (error: NodeJS.ErrnoException) => finish({ fail: diagnoseTls(error.code, error.message, tls, Boolean(acceptedDetail)) }));
    secure.once("close", () => finish({ fail: diagnoseTls(undefined, "", tls, true) }));
  });
}

async function httpProbe(target: URL, tls: TlsMaterial, timeoutMs: number): Promise<{ value: undefined; detail: string; warn?: boolean }> {
  const agent = new Agent({ connect: { ...tls, timeout: timeoutMs } });
  const started = performance.now();
  try {
    const answer = await request(target, {
      method: "GET",
      dispatcher: agent,
      headers: { accept: "application/json" },
      signal: AbortSignal.timeout(timeoutMs),
    });
    await answer.body.dump();
    const status = answer.statusCode;
    const took = `${Math.round(performance.now() - started)} ms`;
    const base = `GET ${target.pathname} answered ${status} in ${took} (a GET is not a token call: no token was used or changed)`;
    if (status === 404) return { value: undefined, detail: `${base}; 404 may mean ${ENDPOINT} is not the platform's base URL (only https://host:port)`, warn: true };
    if (status >= 500) return { value: undefined, detail: `${base}; the platform reports an error — Huawei: contact IoT platform maintenance personnel if it persists`, warn: true };
    return { value: undefined, detail: base };
  } catch (error) {
    const code = (error as { code?: string }).code ?? (error as { cause?: { code?: string } }).cause?.code;
    const name = error instanceof Error ? error.name : "";
    if (name === "TimeoutError" || name === "AbortError" || code === "UND_ERR_HEADERS_TIMEOUT") {
      throw new StepFailure(`no HTTP answer within ${timeoutMs} ms — the platform accepted the connection but did not answer`);
    }
    throw new StepFailure(diagnoseTls(code, error instanceof Error ? error.message : String(error), tls, false));
  } finally {
    await agent.close();
  }
}
