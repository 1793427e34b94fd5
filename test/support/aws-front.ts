// The limits moto lacks (docs/development.md, "Testing"): an HTTP front on a free loopback port that proxies every
// AWS request to moto_server unchanged, and for Secrets Manager and DynamoDB (AWS JSON protocol)
// enforces the version quota and write rate of real Secrets Manager, injects faults and latency, and
// answers every request with a `Date` header from a clock the tests can move.
import { randomUUID } from "node:crypto";
import { Agent, createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";

/** Real Secrets Manager: every version created in the last 24 h counts against 100 per secret. */
export const DEFAULT_VERSION_QUOTA = { limit: 100, windowMs: 24 * 60 * 60 * 1000 } as const;
/** Real Secrets Manager: PutSecretValue and UpdateSecretVersionStage together, per second. */
export const DEFAULT_WRITES_PER_SECOND = 50;
/** What a `fail` fault answers unless told otherwise. */
export const DEFAULT_FAULT_ERROR: AwsErrorAnswer = { status: 400, type: "ThrottlingException", message: "Rate exceeded (injected by the AWS front)" };

/** The signing name of the service (from the request's SigV4 scope): "secretsmanager", "dynamodb", "events", "sqs", ... */
export type AwsService = "secretsmanager" | "dynamodb" | (string & {});

export interface AwsErrorAnswer {
  readonly status: number;
  /** The error's type, e.g. "ThrottlingException"; the SDK throws the class of that name when the service models it. */
  readonly type: string;
  readonly message: string;
}

export interface FrontClock {
  /** Epoch ms on the front's clock: real time plus whatever the test advanced or set. */
  now(): number;
  advance(ms: number): void;
  /** From now on the clock reads `epochMs` and keeps running at real speed. */
  set(epochMs: number): void;
}

export interface VersionQuota {
  limit: number;
  windowMs: number;
  /** Versions of the secret (name or ARN) created inside the current window of the front's clock. */
  used(secretId: string): number;
}

export interface WriteRate {
  /** PutSecretValue + UpdateSecretVersionStage answered per second of real time; beyond: ThrottlingException. */
  perSecond: number;
}

export type FaultKind = "fail" | "hang" | "lose";

export interface FaultSpec {
  readonly service: AwsService;
  readonly operation: string;
  /** Substring of the request's SecretId / Name (Secrets Manager) or TableName (DynamoDB). */
  readonly resource?: string;
  /** The first matching call (1-based, counted from injection, skipping calls an earlier fault took) that gets the fault; default 1. */
  readonly nth?: number;
  /** How many matching calls from the nth on get it; default 1, `Infinity` for all. */
  readonly times?: number;
  /** fail: answer an AWS error without forwarding; hang: never answer; lose: forward, then drop the connection unanswered. */
  readonly fault: FaultKind;
  /** For `fail`; default DEFAULT_FAULT_ERROR. */
  readonly error?: AwsErrorAnswer;
}

export interface InjectedFault {
  /** Matching calls seen since injection. */
  readonly matched: number;
  /** Calls that got the fault. */
  readonly applied: number;
  remove(): void;
}

export interface LatencySpec {
  readonly service?: AwsService;
  readonly operation?: string;
  /** Added before the request is forwarded (or faulted); the largest matching rule wins. */
  readonly ms: number;
}

/** "ok" (2xx), the AWS error type answered (by moto or the front), "hung", "lost", or "failed" (moto unreachable). */
export type CallOutcome = "ok" | "hung" | "lost" | "failed" | (string & {});

export interface FrontCall {
  readonly service: AwsService;
  /** X-Amz-Target operation, query `Action`, or "METHOD /path" for REST services. */
  readonly operation: string;
  readonly resource: string | undefined;
  /** The access key that signed it (whose credentials made the call: an assumed role's session has its own). */
  readonly accessKeyId: string | undefined;
  /** When the front received it, on the front's clock (epoch ms). */
  readonly at: number;
  /** Set when the call ends; "pending" while in flight. */
  outcome: CallOutcome | "pending";
  /** Who answered: moto, the front itself (limit or fault), or nobody (hang, lose). */
  answeredBy: "upstream" | "front" | "nobody" | "pending";
}

export interface CallFilter {
  readonly service?: AwsService;
  readonly operation?: string;
  /** Substring of the call's resource. */
  readonly resource?: string;
  readonly outcome?: CallOutcome;
}

export interface AwsFrontOptions {
  /** moto_server's endpoint, e.g. inject("motoEndpoint"). */
  readonly upstream: string;
  /** Where the front's clock starts (epoch ms); default: real time. */
  readonly clockStart?: number;
  readonly versionQuota?: { readonly limit?: number; readonly windowMs?: number };
  readonly writesPerSecond?: number;
}

export interface AwsFront {
  readonly endpoint: string;
  readonly clock: FrontClock;
  readonly quota: VersionQuota;
  readonly writeRate: WriteRate;
  /** Distinct versions of the secret (name or ARN) created through this front since start or `reset({ quota: true })`. */
  versionsCreated(secretId: string): number;
  inject(fault: FaultSpec): InjectedFault;
  latency(rule: LatencySpec): void;
  /** The operations seen, oldest first. */
  calls(filter?: CallFilter): FrontCall[];
  /** Clears faults, latency rules and the call log; with `quota: true` also the version and write-rate history. */
  reset(options?: { readonly quota?: boolean }): void;
  /** Stops listening and destroys every connection, including hung ones. */
  close(): Promise<void>;
}

const WRITE_RATE_OPERATIONS = new Set(["PutSecretValue", "UpdateSecretVersionStage"]);
/** DynamoDB writes, forwarded one at a time per table (see `serialized` in startAwsFront). */
const DYNAMODB_WRITES = new Set(["PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"]);
/** Secrets Manager operations that create a version when they carry a value. */
const VERSION_CREATING_OPERATIONS = new Set(["CreateSecret", "PutSecretValue", "UpdateSecret"]);
/** Headers of one connection (hop-by-hop), plus the two the front sets itself on every message. */
const NOT_PASSED_ON = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer", "content-length", "date"]);

interface ParsedCall {
  readonly accessKeyId: string | undefined;
  readonly service: AwsService;
  readonly operation: string;
  readonly resource: string | undefined;
  readonly body: Record<string, unknown> | undefined;
}

interface UpstreamAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

class ShiftedClock implements FrontClock {
  private offsetMs: number;

  constructor(start: number | undefined) {
    this.offsetMs = start === undefined ? 0 : start - Date.now();
  }

  now(): number {
    return Date.now() + this.offsetMs;
  }

  advance(ms: number): void {
    this.offsetMs += ms;
  }

  set(epochMs: number): void {
    this.offsetMs = epochMs - Date.now();
  }
}

/** Versions per secret, keyed by ARN; names and partial ARNs resolve through what moto answered. */
class SecretVersions {
  private readonly created = new Map<string, Map<string, number>>();
  private readonly arnByName = new Map<string, string>();

  learn(arn: string, name: string): void {
    this.arnByName.set(name, arn);
  }

  resolve(secretId: string): string {
    if (this.created.has(secretId)) return secretId;
    const byName = this.arnByName.get(secretId);
    if (byName) return byName;
    // A partial ARN lacks the 6-character suffix Secrets Manager appends.
    if (secretId.startsWith("arn:")) for (const arn of this.arnByName.values()) if (arn.startsWith(`${secretId}-`)) return arn;
    return secretId;
  }

  has(secretId: string, versionId: string): boolean {
    return this.created.get(this.resolve(secretId))?.has(versionId) ?? false;
  }

  /** False when the version was already known (an idempotent retry). */
  record(arn: string, versionId: string, at: number): boolean {
    const versions = this.created.get(arn) ?? new Map<string, number>();
    this.created.set(arn, versions);
    if (versions.has(versionId)) return false;
    versions.set(versionId, at);
    return true;
  }

  count(secretId: string, since = -Infinity): number {
    let count = 0;
    for (const at of this.created.get(this.resolve(secretId))?.values() ?? []) if (at > since) count++;
    return count;
  }

  clear(): void {
    this.created.clear();
    this.arnByName.clear();
  }
}

class ActiveFault implements InjectedFault {
  matched = 0;
  applied = 0;

  constructor(
    readonly spec: FaultSpec,
    private readonly detach: (fault: ActiveFault) => void,
  ) {}

  /** Counts the call if it matches; true when this call gets the fault. */
  take(call: ParsedCall): boolean {
    const { service, operation, resource, nth = 1, times = 1 } = this.spec;
    if (call.service !== service || call.operation !== operation) return false;
    if (resource !== undefined && !call.resource?.includes(resource)) return false;
    this.matched++;
    if (this.matched < nth || this.matched >= nth + times) return false;
    this.applied++;
    return true;
  }

  remove(): void {
    this.detach(this);
  }
}

export async function startAwsFront(options: AwsFrontOptions): Promise<AwsFront> {
  const upstream = new URL(options.upstream);
  const clock = new ShiftedClock(options.clockStart);
  const versions = new SecretVersions();
  const quota: VersionQuota = {
    limit: options.versionQuota?.limit ?? DEFAULT_VERSION_QUOTA.limit,
    windowMs: options.versionQuota?.windowMs ?? DEFAULT_VERSION_QUOTA.windowMs,
    used: (secretId) => versions.count(secretId, clock.now() - quota.windowMs),
  };
  const writeRate: WriteRate = { perSecond: options.writesPerSecond ?? DEFAULT_WRITES_PER_SECOND };
  /** performance.now() of each write admitted in the last second (real time, not the front's clock). */
  let recentWrites: number[] = [];
  let faults: ActiveFault[] = [];
  /** The last write forwarded to each DynamoDB table; the next one waits for it (see `serialized`). */
  const tableWrites = new Map<string, Promise<void>>();
  let latencyRules: LatencySpec[] = [];
  let log: FrontCall[] = [];
  const closing = new AbortController();
  // moto closes every connection after its answer; the front does the same on both sides, so no client
  // ever reuses a socket the other end is closing, and idle sockets never pile up across a long suite.
  const agent = new Agent({ keepAlive: false });

  /** The front's own refusals (limits), checked just before forwarding. */
  function refusal(call: ParsedCall): AwsErrorAnswer | undefined {
    if (call.service !== "secretsmanager") return undefined;
    if (WRITE_RATE_OPERATIONS.has(call.operation)) {
      const now = performance.now();
      recentWrites = recentWrites.filter((at) => at > now - 1_000);
      if (recentWrites.length >= writeRate.perSecond) {
        return { status: 400, type: "ThrottlingException", message: `Rate exceeded: more than ${writeRate.perSecond} secret writes per second` };
      }
      recentWrites.push(now);
    }
    if (createsVersion(call) && call.resource !== undefined) {
      const token = call.body?.ClientRequestToken;
      const retry = typeof token === "string" && versions.has(call.resource, token);
      if (!retry && quota.used(call.resource) >= quota.limit) {
        return {
          status: 400,
          type: "LimitExceededException",
          message: `You have exceeded the maximum number of ${quota.limit} versions of secret ${call.resource} created in ${quota.windowMs / 3_600_000} hours`,
        };
      }
    }
    return undefined;
  }

  /** Learns names, ARNs and created versions from moto's successful Secrets Manager answers. */
  function observe(call: ParsedCall, answer: UpstreamAnswer): void {
    if (call.service !== "secretsmanager" || answer.status >= 300) return;
    const body = parseJson(answer.body);
    const arn = body?.ARN;
    if (typeof arn !== "string") return;
    if (typeof body?.Name === "string") versions.learn(arn, body.Name);
    if (createsVersion(call) && typeof body?.VersionId === "string") versions.record(arn, body.VersionId, clock.now());
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestBody = await readBody(req);
    const call = parseCall(req, requestBody);
    const record: FrontCall = { service: call.service, operation: call.operation, resource: call.resource, accessKeyId: call.accessKeyId, at: clock.now(), outcome: "pending", answeredBy: "pending" };
    log.push(record);
    const delay = Math.max(0, ...latencyRules.filter((rule) => matches(rule, call)).map((rule) => rule.ms));
    if (delay > 0) await sleep(delay, undefined, { signal: closing.signal });
    // Faults see a call in injection order; one that fires takes it, and later faults never see (or count) it.
    const fault = faults.find((candidate) => candidate.take(call))?.spec;
    if (fault?.fault === "hang") return settle(record, "hung", "nobody");
    const refused = fault?.fault === "fail" ? (fault.error ?? DEFAULT_FAULT_ERROR) : refusal(call);
    if (refused) {
      answerError(res, req, refused);
      return settle(record, refused.type, "front");
    }
    const emulated = EMULATED_OPERATIONS[call.operation];
    const send = emulated && call.service === "monitoring" ? () => emulated(call, (operation, body) => forwardAs(req, operation, body)) : () => forward(req, requestBody);
    const upstreamAnswer = await serialized(call, send).catch((error: unknown) => {
      if (closing.signal.aborted) res.destroy();
      else answer(res, 502, { "content-type": "text/plain" }, Buffer.from(`AWS front: upstream ${upstream.origin} failed: ${String(error)}`));
      settle(record, "failed", "front");
    });
    if (!upstreamAnswer) return;
    observe(call, upstreamAnswer);
    if (fault?.fault === "lose") {
      res.destroy();
      return settle(record, "lost", "nobody");
    }
    answer(res, upstreamAnswer.status, endToEnd(upstreamAnswer.headers), upstreamAnswer.body);
    settle(record, upstreamAnswer.status < 300 ? "ok" : (errorType(upstreamAnswer) ?? `HTTP ${upstreamAnswer.status}`), "upstream");
  }

  function answer(res: ServerResponse, status: number, headers: Record<string, string | string[]>, body: Buffer): void {
    res.writeHead(status, { ...headers, date: httpDate(clock.now()), connection: "close", "content-length": body.length }).end(body);
  }

  function answerError(res: ServerResponse, req: IncomingMessage, error: AwsErrorAnswer): void {
    const requestType = req.headers["content-type"];
    // Query-protocol services (STS, and moto's side of others) answer errors in XML; a JSON error would
    // reach the SDK as a deserialization error instead of the AWS error it stands for.
    if (requestType?.startsWith("application/x-www-form-urlencoded")) {
      const xml = `<ErrorResponse><Error><Type>${error.status < 500 ? "Sender" : "Receiver"}</Type><Code>${error.type}</Code><Message>${error.message}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`;
      answer(res, error.status, { "content-type": "text/xml" }, Buffer.from(xml));
      return;
    }
    const headers = {
      "content-type": requestType?.startsWith("application/x-amz-json") ? requestType : "application/x-amz-json-1.1",
      "x-amzn-errortype": error.type,
      "x-amzn-requestid": randomUUID(),
    };
    answer(res, error.status, headers, Buffer.from(JSON.stringify({ __type: error.type, message: error.message })));
  }

  /**
   * DynamoDB applies each write to an item atomically, so a condition holds against concurrent
   * writers; moto's server checks conditions and writes without a lock, so two concurrent
   * conditional writes can both succeed (seen: 2 rounds in 20 of four racing lease takers). The
   * front forwards a table's writes one at a time.
   */
  function serialized(call: ParsedCall, send: () => Promise<UpstreamAnswer>): Promise<UpstreamAnswer> {
    if (call.service !== "dynamodb" || !DYNAMODB_WRITES.has(call.operation)) return send();
    const key = call.resource ?? "";
    const previous = tableWrites.get(key) ?? Promise.resolve();
    const turn = previous.then(send, send);
    const settled = turn.then(
      () => undefined,
      () => undefined,
    );
    tableWrites.set(key, settled);
    void settled.then(() => {
      if (tableWrites.get(key) === settled) tableWrites.delete(key);
    });
    return turn;
  }

  /** `req` sent on as another operation of the same JSON service, with `body` (moto checks no signatures). */
  function forwardAs(req: IncomingMessage, operation: string, body: unknown): Promise<UpstreamAnswer> {
    const target = String(req.headers["x-amz-target"] ?? "");
    const headers = { ...req.headers, "x-amz-target": `${target.slice(0, target.indexOf(".") + 1)}${operation}` } as IncomingHttpHeaders;
    return forward({ ...req, headers } as IncomingMessage, Buffer.from(JSON.stringify(body)));
  }

  function forward(req: IncomingMessage, body: Buffer): Promise<UpstreamAnswer> {
    const headers = { ...endToEnd(req.headers), "content-length": String(body.length) };
    return new Promise((resolve, reject) => {
      const outgoing = httpRequest(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers, agent, signal: closing.signal },
        (incoming) => {
          readBody(incoming).then((answerBody) => resolve({ status: incoming.statusCode ?? 502, headers: incoming.headers, body: answerBody }), reject);
        },
      );
      outgoing.once("error", reject);
      outgoing.end(body);
    });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    clock,
    quota,
    writeRate,
    versionsCreated: (secretId) => versions.count(secretId),
    inject(spec) {
      const fault = new ActiveFault(spec, (removed) => (faults = faults.filter((candidate) => candidate !== removed)));
      faults.push(fault);
      return fault;
    },
    latency(rule) {
      latencyRules.push(rule);
    },
    calls(filter = {}) {
      return log.filter(
        (call) =>
          matches(filter, call) &&
          (filter.resource === undefined || (call.resource?.includes(filter.resource) ?? false)) &&
          (filter.outcome === undefined || call.outcome === filter.outcome),
      );
    },
    reset(resetOptions = {}) {
      faults = [];
      latencyRules = [];
      log = [];
      if (resetOptions.quota) {
        versions.clear();
        recentWrites = [];
      }
    },
    async close() {
      closing.abort();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      agent.destroy();
      await closed;
    },
  };
}

type Forward = (operation: string, body: unknown) => Promise<UpstreamAnswer>;

/**
 * Operations moto does not implement, built from ones it does. CloudWatch `DisableAlarmActions` and
 * `EnableAlarmActions` (used by `token-refresher pause` and `resume`): each alarm is read and put
 * back with `ActionsEnabled` switched, which is what the real operations change.
 */
const EMULATED_OPERATIONS: Readonly<Record<string, (call: ParsedCall, send: Forward) => Promise<UpstreamAnswer>>> = {
  DisableAlarmActions: (call, send) => switchAlarmActions(call, send, false),
  EnableAlarmActions: (call, send) => switchAlarmActions(call, send, true),
};

const ALARM_FIELDS = [
  "AlarmName", "AlarmDescription", "OKActions", "AlarmActions", "InsufficientDataActions", "MetricName", "Namespace", "Statistic",
  "ExtendedStatistic", "Dimensions", "Period", "Unit", "EvaluationPeriods", "DatapointsToAlarm", "Threshold", "ComparisonOperator",
  "TreatMissingData", "EvaluateLowSampleCountPercentile", "Metrics", "ThresholdMetricId",
] as const;

async function switchAlarmActions(call: ParsedCall, send: Forward, enabled: boolean): Promise<UpstreamAnswer> {
  const described = await send("DescribeAlarms", { AlarmNames: call.body?.AlarmNames ?? [] });
  if (described.status >= 300) return described;
  const alarms = (parseJson(described.body)?.MetricAlarms ?? []) as Record<string, unknown>[];
  for (const alarm of alarms) {
    const fields = Object.fromEntries(ALARM_FIELDS.filter((field) => alarm[field] !== undefined).map((field) => [field, alarm[field]]));
    const put = await send("PutMetricAlarm", { ...fields, ActionsEnabled: enabled });
    if (put.status >= 300) return put;
  }
  return { status: 200, headers: { "content-type": "application/x-amz-json-1.0" }, body: Buffer.from("{}") };
}

/** The headers that describe the message itself, for passing it on. */
function endToEnd(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const kept: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined && !NOT_PASSED_ON.has(name)) kept[name] = value;
  return kept;
}

function settle(record: FrontCall, outcome: CallOutcome, answeredBy: FrontCall["answeredBy"]): void {
  record.outcome = outcome;
  record.answeredBy = answeredBy;
}

function matches(rule: { readonly service?: AwsService; readonly operation?: string }, call: { readonly service: AwsService; readonly operation: string }): boolean {
  return (rule.service === undefined || rule.service === call.service) && (rule.operation === undefined || rule.operation === call.operation);
}

function createsVersion(call: ParsedCall): boolean {
  return VERSION_CREATING_OPERATIONS.has(call.operation) && (call.body?.SecretString !== undefined || call.body?.SecretBinary !== undefined);
}

/** RFC 7231 IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT". */
function httpDate(epochMs: number): string {
  return new Date(epochMs).toUTCString();
}

function parseCall(req: IncomingMessage, body: Buffer): ParsedCall {
  const authorization = req.headers.authorization ?? "";
  const scope = /Credential=([^/,]+)\/\d{8}\/[^/]+\/([^/]+)\/aws4_request/.exec(authorization);
  const service = scope?.[2] ?? "unknown";
  const target = req.headers["x-amz-target"];
  const url = new URL(req.url ?? "/", "http://front");
  const contentType = req.headers["content-type"] ?? "";
  const formAction = contentType.startsWith("application/x-www-form-urlencoded") ? new URLSearchParams(body.toString("utf8")).get("Action") : null;
  const operation =
    (typeof target === "string" ? target.slice(target.indexOf(".") + 1) : undefined) ??
    formAction ??
    url.searchParams.get("Action") ??
    `${req.method} ${url.pathname}`;
  const json = typeof target === "string" ? parseJson(body) : undefined;
  return { accessKeyId: scope?.[1], service, operation, resource: resourceOf(json), body: json };
}

/** The secret (SecretId, or Name on CreateSecret) or the table (TableName, or the tables of a batch). */
function resourceOf(body: Record<string, unknown> | undefined): string | undefined {
  const named = body?.SecretId ?? body?.TableName ?? body?.Name;
  if (typeof named === "string") return named;
  const batch = body?.RequestItems;
  return typeof batch === "object" && batch !== null ? Object.keys(batch).join(",") : undefined;
}

function errorType(answer: UpstreamAnswer): string | undefined {
  const header = answer.headers["x-amzn-errortype"];
  const type = (typeof header === "string" ? header : undefined) ?? parseJson(answer.body)?.__type;
  return typeof type === "string" ? (type.split(":")[0]?.split("#").at(-1) ?? type) : undefined;
}

function parseJson(body: Buffer): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(body.toString("utf8"));
    return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

async function readBody(stream: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
