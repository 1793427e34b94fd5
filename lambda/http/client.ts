import { Agent, request } from "undici";
import { ConfigError, NetworkError, ProtocolError } from "../errors.js";
import type { Deadline } from "../refresh/deadline.js";
import { SETTINGS } from "../config/table.js";

/** Optional PEM material from the client secret. Without `ca`, the system trust store applies. */
export interface TlsMaterial {
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
}

export interface HttpAnswer {
  readonly status: number;
  /** The parsed JSON body, or undefined when the body is empty or not JSON. */
  readonly json: unknown;
}

export type RequestBody = { readonly form: Record<string, string> } | { readonly json: unknown };

/** Timeout of one HTTP attempt, connect to last byte, unless configured (the HTTP timeout setting, client options). */
export const DEFAULT_HTTP_TIMEOUT_MS = SETTINGS.httpTimeoutMs.default;

/** Checks that option `name` of a typed client is an `https://` URL without credentials. */
export function httpsUrl(name: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${name} is not a URL: "${value}"`);
  }
  if (url.protocol !== "https:") throw new ConfigError(`${name} must use https://, got "${url.protocol}"`);
  if (url.username || url.password) throw new ConfigError(`${name} must not contain credentials`);
  return value;
}

/** Token answers are a few hundred bytes; anything far larger is not a token answer. */
const MAX_BODY_BYTES = 64 * 1024;

/**
 * HTTPS with the credential's own trust store and client certificate. Certificate verification is
 * always on: the platform's CA goes in `ca`, never a switch that turns checking off.
 */
export class HttpClient {
  private readonly agent: Agent;

  constructor(
    tls: TlsMaterial,
    private readonly timeoutMs: number,
  ) {
    this.agent = new Agent({ connect: { ...tls, timeout: timeoutMs }, keepAliveTimeout: 1_000 });
  }

  /** One POST attempt, bounded by the attempt timeout and the run's deadline; `headers` add to the content headers (e.g. `authorization`). */
  async post(url: string, body: RequestBody, deadline: Deadline, headers: Readonly<Record<string, string>> = {}): Promise<HttpAnswer> {
    const target = new URL(url);
    const where = `POST ${target.origin}${target.pathname}`;
    const timeout = deadline.attemptTimeoutMs(this.timeoutMs);
    if (timeout <= 0) throw new NetworkError(`${where}: run time budget exhausted before the request`);
    const [contentType, payload] =
      "form" in body
        ? ["application/x-www-form-urlencoded", new URLSearchParams(body.form).toString()]
        : ["application/json", JSON.stringify(body.json)];
    try {
      const answer = await request(target, {
        method: "POST",
        dispatcher: this.agent,
        headers: { ...headers, "content-type": contentType, accept: "application/json" },
        body: payload,
        signal: AbortSignal.timeout(timeout),
      });
      const text = await readLimited(answer.body, where);
      return { status: answer.statusCode, json: parseJson(text) };
    } catch (error) {
      if (error instanceof ProtocolError) throw error;
      throw new NetworkError(`${where} failed: ${networkReason(error, timeout)}`, error);
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

async function readLimited(body: AsyncIterable<Buffer>, where: string): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new ProtocolError(`${where}: answer body exceeds ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function parseJson(text: string): unknown {
  if (!text.trim()) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** The error's code or name only: undici messages can quote request details. */
function networkReason(error: unknown, timeoutMs: number): string {
  if (error instanceof Error) {
    if (error.name === "TimeoutError" || error.name === "AbortError") return `timed out after ${timeoutMs} ms`;
    const code = (error as { code?: unknown }).code ?? (error.cause as { code?: unknown } | undefined)?.code;
    if (typeof code === "string") return code;
    return error.name;
  }
  return "unknown error";
}
