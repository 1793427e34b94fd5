import { randomBytes, randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { CreateSecretCommand } from "@aws-sdk/client-secrets-manager";
import { createAwsClients, type AwsClients } from "../../lambda/aws-clients.js";
import { AwsClock } from "../../lambda/clock.js";
import { credentialSpec, environmentText, loadConfig, readSettings, runtimeSettings } from "../../lambda/config/index.js";
import { ConfigError } from "../../lambda/errors.js";
import { runRefresh } from "../../lambda/refresh/workflow.js";
import { METRIC } from "../../lambda/telemetry/names.js";
import { Telemetry, type RefreshResult } from "../../lambda/telemetry/telemetry.js";
import { startIotPlatform, type IotPlatform } from "./iot-platform.js";
import { startMoto, type MotoServer } from "./moto.js";
import { createTestPki } from "./pki.js";
import { createStateTable } from "./state-table.js";
import { EXIT, exitCodeForResult, type ExitCode } from "../cli/errors.js";
import { formatDuration } from "../cli/format.js";
import { awsClientConfig, writeProtocol } from "../cli/settings.js";
import type { Env } from "../cli/io.js";

export interface LocalRunOptions {
  readonly env: Env;
  readonly write: (text: string) => void;
  /** Aborted on Ctrl-C / SIGTERM: the loop stops after the current run and everything is cleaned up. */
  readonly signal: AbortSignal;
}

/** The settings `npm start` reads from the environment. */
interface Schedule {
  /** Stop after this many runs; undefined: until Ctrl-C. */
  readonly runs?: number;
  readonly intervalMs: number;
  readonly showEmf: boolean;
}

interface DemoSettings extends Schedule {
  readonly accessTokenTtlSeconds: number;
  readonly refreshWindowSeconds: number;
  /** Freeze the app in the simulator after this run (0: never). */
  readonly freezeAfterRuns: number;
  /** Unfreeze it this many runs later (0: never). */
  readonly unfreezeAfterRuns: number;
}

class UsageError extends Error {}

/** The demo's refresh window: its access tokens live 60 s. */
const DEMO_REFRESH_WINDOW_SECONDS = 45;

function numberSetting(env: Env, name: string, fallback: number, options: { min: number; max: number; integer?: boolean }): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < options.min || value > options.max || (options.integer && !Number.isInteger(value))) {
    throw new UsageError(`${name} must be ${options.integer ? "a whole number" : "a number"} between ${options.min} and ${options.max}, got "${raw}"`);
  }
  return value;
}

function schedule(env: Env, defaultIntervalSeconds: number): Schedule {
  const runs = env.RUNS?.trim() ? numberSetting(env, "RUNS", 0, { min: 1, max: 1_000_000, integer: true }) : undefined;
  return {
    runs,
    intervalMs: Math.round(numberSetting(env, "INTERVAL_SECONDS", defaultIntervalSeconds, { min: 0.05, max: 86_400 }) * 1000),
    showEmf: env.SHOW_EMF === "1" || env.SHOW_EMF === "true",
  };
}

/** Real mode when the refresher's own variables name an endpoint and both secrets. */
export function isRealMode(env: Env): boolean {
  return (["endpointUrl", "clientSecretId", "tokenSecretId"] as const).every((field) => environmentText(env, field));
}

/**
 * `npm start`: the refresh job on a fast local schedule. Without configuration it is a self-contained
 * demo (moto_server for Secrets Manager, the IoT platform simulator over mutual TLS, both secrets
 * created, the app frozen after a few runs to show the alarm); with the endpoint and both secret ids
 * set (docs/configuration.md) it refreshes that credential for real, every INTERVAL_SECONDS (default 300).
 */
export async function runLocal(options: LocalRunOptions): Promise<ExitCode> {
  try {
    return isRealMode(options.env) ? await runReal(options) : await runDemo(options);
  } catch (error) {
    if (error instanceof UsageError || error instanceof ConfigError) {
      options.write(`error: ${error.message}\n`);
      return EXIT.usage;
    }
    throw error;
  }
}

const clock = (ms: number) => new Date(ms).toISOString().slice(11, 19);
const HEADER = `${"time".padEnd(9)} ${"run".padStart(4)}  ${"outcome".padEnd(18)} ${"reason".padEnd(26)} validity left\n`;

function runLine(run: number, result: RefreshResult, at: number): string {
  const ttl = result.ttlSeconds === undefined ? "none" : formatDuration(result.ttlSeconds);
  const extra = [result.httpStatus && `HTTP ${result.httpStatus}`, result.errorCode && `error_code ${result.errorCode}`].filter(Boolean).join(" ");
  return `${clock(at)}Z ${String(run).padStart(4)}  ${result.outcome.padEnd(18)} ${result.reason.padEnd(26)} ${ttl}${extra ? `   ${extra}` : ""}\n`;
}

/**
 * The stack's run-based alarms, evaluated on each run's EMF values as CloudWatch would with one
 * datapoint per schedule interval: CredentialRejected >= 1 and AppFrozen >= 1 (one period),
 * RefreshFailed >= 1 on two consecutive runs. Prints state changes, as the SNS topic would hear them.
 */
class AlarmModel {
  private readonly state = new Map<string, boolean>();
  private failedRuns = 0;

  constructor(private readonly write: (text: string) => void) {}

  observe(emf: Record<string, unknown>): void {
    const count = (name: string) => (typeof emf[name] === "number" ? emf[name] : 0);
    this.failedRuns = count(METRIC.failed) >= 1 ? this.failedRuns + 1 : 0;
    this.set("CredentialRejected", count(METRIC.credentialRejected) >= 1, "CredentialRejected >= 1");
    this.set("AppFrozen", count(METRIC.appFrozen) >= 1, "AppFrozen >= 1");
    this.set("RefreshFailed", this.failedRuns >= 2, "RefreshFailed on 2 consecutive runs");
  }

  private set(name: string, alarming: boolean, condition: string): void {
    if ((this.state.get(name) ?? false) === alarming) return;
    this.state.set(name, alarming);
    this.write(
      alarming
        ? `          ALARM  ${condition}: the ${name} alarm goes to ALARM and notifies the on-call SNS topic (runbook: ${name})\n`
        : `          OK     the ${name} alarm returns to OK (its OK action notifies the topic too)\n`,
    );
  }
}

/** Repeats `runOnce` on the schedule until `runs` is reached or the signal is aborted. */
async function loop(settings: Schedule, options: LocalRunOptions, runOnce: (run: number) => Promise<void>): Promise<void> {
  for (let run = 1; settings.runs === undefined || run <= settings.runs; run++) {
    if (options.signal.aborted) return;
    const started = Date.now();
    await runOnce(run);
    if (settings.runs !== undefined && run >= settings.runs) return;
    try {
      await sleep(Math.max(0, started + settings.intervalMs - Date.now()), undefined, { signal: options.signal });
    } catch {
      return; // aborted
    }
  }
}

function metricSummary(emf: Record<string, unknown>): string {
  const names = [METRIC.succeeded, METRIC.skipped, METRIC.failed, METRIC.credentialRejected, METRIC.appFrozen, METRIC.accessTokenTtl];
  return names.map((name) => `${name}=${typeof emf[name] === "number" ? emf[name] : "(missing)"}`).join(" ");
}

async function runDemo(options: LocalRunOptions): Promise<ExitCode> {
  const { env, write } = options;
  const base = schedule(env, 5);
  const settings: DemoSettings = {
    ...base,
    accessTokenTtlSeconds: numberSetting(env, "ACCESS_TOKEN_TTL_SECONDS", 60, { min: 1, max: 86_400, integer: true }),
    // The refresher's own setting, read by its own rules; the demo's tokens live a minute, so its default is shorter.
    refreshWindowSeconds:
      environmentText(env, "refreshWindowSeconds") === undefined ? DEMO_REFRESH_WINDOW_SECONDS : (readSettings(env, ["refreshWindowSeconds"]).refreshWindowSeconds as number),
    freezeAfterRuns: numberSetting(env, "FREEZE_AFTER_RUNS", 6, { min: 0, max: 1_000_000, integer: true }),
    unfreezeAfterRuns: numberSetting(env, "UNFREEZE_AFTER_RUNS", 3, { min: 0, max: 1_000_000, integer: true }),
  };

  let moto: MotoServer | undefined;
  let platform: IotPlatform | undefined;
  let clients: AwsClients | undefined;
  try {
    write("token-refresher local run: demo (moto_server + IoT platform simulator; nothing leaves this machine)\n");
    moto = await startMoto();
    const pki = await createTestPki();
    const appId = `demo-app-${randomBytes(3).toString("hex")}`;
    const appSecret = randomBytes(18).toString("base64url");
    platform = await startIotPlatform({ pki, appId, secret: appSecret, accessTokenTtlSeconds: settings.accessTokenTtlSeconds, rateLimit: false });
    // Fixed local credentials and the local endpoint: the demo can never reach a real AWS account.
    const aws = { endpoint: moto.endpoint, region: "us-east-1", credentials: { accessKeyId: "local", secretAccessKey: "local" } };
    const clock = new AwsClock();
    clients = createAwsClients(3_000, clock, aws);
    const { secrets, dynamodb, events } = clients;
    const stateTableName = await createStateTable("local-demo-state", dynamodb);
    const clientSecretId = "local-demo/client";
    const tokenSecretId = "local-demo/token";
    await secrets.send(
      new CreateSecretCommand({
        Name: clientSecretId,
        SecretString: JSON.stringify({ appId, secret: appSecret, caCertificate: pki.caPem, clientCertificate: pki.client.certPem, clientKey: pki.client.keyPem }),
      }),
    );
    const credential = credentialSpec({
      name: "local-demo",
      dialect: "iot",
      clientSecretId,
      tokenSecretId,
      endpointUrl: platform.baseUrl,
      refreshWindowSeconds: settings.refreshWindowSeconds,
    });
    const runtime = runtimeSettings({ stateTableName, eventBusName: "", httpTimeoutMs: 3_000, runBudgetMs: 10_000 });
    // The token secret's first value ({}: no pair yet) goes in the way init writes it: through the write protocol.
    await writeProtocol({ credential, runtime }, clients, clock).writeOperatorDocument(`npm-start-${randomUUID()}`, {}, undefined);
    const freezeAt = settings.freezeAfterRuns;
    const unfreezeAt = freezeAt && settings.unfreezeAfterRuns ? freezeAt + settings.unfreezeAfterRuns : 0;
    write(
      [
        `  moto_server     ${moto.endpoint} (Secrets Manager, DynamoDB)`,
        `  IoT simulator   ${platform.baseUrl} (mutual TLS; access tokens live ${settings.accessTokenTtlSeconds} s)`,
        `  client secret   ${clientSecretId} (appId, secret, caCertificate, clientCertificate, clientKey)`,
        `  token secret    ${tokenSecretId} ({}: no pair yet, so the first run logs in)`,
        `  schedule        every ${settings.intervalMs / 1000} s; refresh when ${settings.refreshWindowSeconds} s of validity or less is left` +
          (freezeAt ? `; the app is frozen after run ${freezeAt}${unfreezeAt ? ` and unfrozen after run ${unfreezeAt}` : ""}` : ""),
        `  ${settings.runs === undefined ? "Ctrl-C to stop" : `stops after ${settings.runs} runs (Ctrl-C to stop earlier)`}`,
        "",
      ].join("\n") + "\n",
    );
    write(HEADER);

    let lastEmf: Record<string, unknown> = {};
    const telemetry = new Telemetry({
      namespace: runtime.metricsNamespace,
      eventBusName: runtime.eventBusName,
      events,
      write: (line) => {
        lastEmf = JSON.parse(line) as Record<string, unknown>;
        if (settings.showEmf) write(`          EMF ${line}`);
      },
    });
    const alarms = new AlarmModel(write);
    const demoPlatform = platform;
    await loop(settings, options, async (run) => {
      // After the unfreeze, as the runbook says, force a run: a failing credential otherwise waits out its backoff.
      const event = unfreezeAt && run === unfreezeAt + 1 ? { force: true } : {};
      const result = await runRefresh({ runtime, secrets, dynamodb, clock, telemetry }, credential, event);
      write(runLine(run, result, Date.now()));
      if (result.outcome !== "Refreshed" && result.outcome !== "Skipped") write(`          EMF    ${metricSummary(lastEmf)}\n`);
      alarms.observe(lastEmf);
      if (run === freezeAt) {
        demoPlatform.setFrozen(true);
        write(`── after run ${run}: the app is frozen in the simulator (as the platform does on arrears: HTTP 400, error_code 100247) ──\n`);
      }
      if (run === unfreezeAt) {
        demoPlatform.setFrozen(false);
        write(`── after run ${run}: the app is unfrozen (arrears settled); the next run is forced, as the runbook says, instead of waiting out the backoff ──\n`);
      }
    });
    return EXIT.ok;
  } finally {
    destroyAll(clients);
    await platform?.close();
    await moto?.stop();
    write(options.signal.aborted ? "stopped: simulator and moto_server shut down\n" : "done: simulator and moto_server shut down\n");
  }
}

async function runReal(options: LocalRunOptions): Promise<ExitCode> {
  const { env, write } = options;
  const settings = schedule(env, 300);
  const { credential, runtime } = loadConfig(env);
  const aws = awsClientConfig(env);
  const clock = new AwsClock();
  const clients = createAwsClients(runtime.awsRequestTimeoutMs, clock, aws);
  const { secrets, dynamodb, events } = clients;
  const telemetry = new Telemetry({
    namespace: runtime.metricsNamespace,
    eventBusName: runtime.eventBusName,
    events,
    write: (line) => {
      if (settings.showEmf) write(`          EMF ${line}`);
    },
  });
  write(
    `token-refresher local run: credential ${credential.name} (${credential.dialect}) at ${credential.endpointUrl}, AWS ${aws.endpoint ?? aws.region ?? "default region"}; ` +
      `every ${settings.intervalMs / 1000} s, ${settings.runs === undefined ? "until Ctrl-C" : `${settings.runs} runs`}\n`,
  );
  write(HEADER);
  let last: ExitCode = EXIT.ok;
  try {
    await loop(settings, options, async (run) => {
      const result = await runRefresh({ runtime, secrets, dynamodb, clock, telemetry }, credential, {});
      write(runLine(run, result, Date.now()));
      if (result.message) write(`          ${result.message}\n`);
      last = exitCodeForResult(result);
    });
  } finally {
    destroyAll(clients);
  }
  return last;
}

function destroyAll(clients: AwsClients | undefined): void {
  clients?.secrets.destroy();
  clients?.dynamodb.destroy();
  clients?.events.destroy();
}
