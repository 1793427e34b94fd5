// A small stand-in for the Lambda Runtime API (the endpoints a runtime interface client calls, per
// AWS's "Using the Lambda runtime API for custom runtimes"): the runtime long-polls
// GET /2018-06-01/runtime/invocation/next, then posts the handler's answer to
// /invocation/{id}/response or /invocation/{id}/error, or /init/error when the handler fails to load.
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

const API = "/2018-06-01/runtime";

export interface InvocationOutcome {
  readonly kind: "response" | "error";
  readonly body: unknown;
  /** Lambda-Runtime-Function-Error-Type of an error post. */
  readonly errorType?: string;
}

export interface InvokeOptions {
  /** Time the invocation has, as the function timeout gives it (Lambda-Runtime-Deadline-Ms). */
  readonly timeoutMs: number;
  readonly functionArn: string;
}

interface Pending {
  readonly requestId: string;
  readonly event: unknown;
  readonly options: InvokeOptions;
  settle(outcome: InvocationOutcome): void;
  fail(error: Error): void;
}

export class RuntimeApiStandIn {
  /** User-Agent of every `next` poll: the native client's names aws-lambda-cpp. */
  readonly userAgents: string[] = [];
  private readonly queue: Pending[] = [];
  private readonly inFlight = new Map<string, Pending>();
  private parked: ServerResponse | undefined;
  private initError: unknown;

  private constructor(private readonly server: Server) {}

  static async start(): Promise<RuntimeApiStandIn> {
    const server = createServer();
    const api = new RuntimeApiStandIn(server);
    server.on("request", (request, response) => void api.answer(request, response));
    await new Promise<void>((listening) => server.listen(0, "127.0.0.1", listening));
    return api;
  }

  /** `host:port`, the value of AWS_LAMBDA_RUNTIME_API. */
  get address(): string {
    const { port } = this.server.address() as AddressInfo;
    return `127.0.0.1:${port}`;
  }

  /** Queues an event for the runtime's next poll; settles when the runtime posts the answer. */
  invoke(event: unknown, options: InvokeOptions): Promise<InvocationOutcome> {
    return new Promise((settle, fail) => {
      const pending: Pending = { requestId: randomUUID(), event, options, settle, fail };
      if (this.initError !== undefined) return fail(new Error(`the runtime reported an init error: ${JSON.stringify(this.initError)}`));
      this.queue.push(pending);
      this.dispatch();
    });
  }

  /** Fails every invocation not answered yet (the runtime process died). */
  abandon(reason: Error): void {
    for (const pending of [...this.queue, ...this.inFlight.values()]) pending.fail(reason);
    this.queue.length = 0;
    this.inFlight.clear();
  }

  async close(): Promise<void> {
    this.parked?.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((closed) => this.server.close(() => closed()));
  }

  private dispatch(): void {
    const response = this.parked;
    const pending = this.queue.shift();
    if (!response || !pending) {
      if (pending) this.queue.unshift(pending);
      return;
    }
    this.parked = undefined;
    this.inFlight.set(pending.requestId, pending);
    response.writeHead(200, {
      "Content-Type": "application/json",
      "Lambda-Runtime-Aws-Request-Id": pending.requestId,
      "Lambda-Runtime-Deadline-Ms": String(Date.now() + pending.options.timeoutMs),
      "Lambda-Runtime-Invoked-Function-Arn": pending.options.functionArn,
      "Lambda-Runtime-Trace-Id": `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${randomUUID().replaceAll("-", "").slice(0, 24)};Sampled=0`,
    });
    response.end(JSON.stringify(pending.event));
  }

  private async answer(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString("utf8");
    const path = request.url ?? "";
    if (request.method === "GET" && path === `${API}/invocation/next`) {
      this.userAgents.push(request.headers["user-agent"] ?? "");
      this.parked = response;
      this.dispatch();
      return;
    }
    const posted = request.method === "POST" ? /^\/2018-06-01\/runtime\/invocation\/([^/]+)\/(response|error)$/.exec(path) : null;
    const pending = posted && this.inFlight.get(decodeURIComponent(posted[1]!));
    if (posted && pending) {
      this.inFlight.delete(pending.requestId);
      const errorType = request.headers["lambda-runtime-function-error-type"];
      pending.settle({ kind: posted[2] as "response" | "error", body: parse(body), ...(typeof errorType === "string" && { errorType }) });
      response.writeHead(202, { "Content-Type": "application/json" }).end('{"status":"OK"}');
      return;
    }
    if (request.method === "POST" && path === `${API}/init/error`) {
      this.initError = parse(body);
      this.abandon(new Error(`the runtime reported an init error: ${body}`));
      response.writeHead(202, { "Content-Type": "application/json" }).end('{"status":"OK"}');
      return;
    }
    response.writeHead(404, { "Content-Type": "application/json" }).end(JSON.stringify({ errorMessage: `no route ${request.method} ${path}` }));
  }
}

function parse(body: string): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return body;
  }
}
