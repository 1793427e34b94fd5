import type { RefresherConfig } from "../../../lambda/config/index.js";
import { runRefresh } from "../../../lambda/refresh/workflow.js";
import { Telemetry, type RefreshResult } from "../../../lambda/telemetry/telemetry.js";
import { exitCodeForResult, type ExitCode } from "../errors.js";
import { hintFor, outcomeLine } from "../format.js";
import type { CliIo } from "../io.js";
import { flag, fullConfig, runClients, type ParsedArgs } from "../settings.js";

/** One run of the Lambda's workflow (`runRefresh`), from the command line. */
export async function refreshCommand(args: ParsedArgs, io: CliIo): Promise<ExitCode> {
  const config = fullConfig(args.env);
  const result = await runWorkflow(config, args, io, flag(args, "force"));
  return reportResult(result, config, args, io);
}

/**
 * Runs the workflow with the CLI's clients. The EMF/log line the Lambda would print goes to
 * stderr with --verbose (it never holds a token); the run still publishes its EventBridge event.
 */
export async function runWorkflow({ credential, runtime }: RefresherConfig, args: ParsedArgs, io: CliIo, force: boolean): Promise<RefreshResult> {
  const clients = runClients(io, args.env, runtime);
  const verbose = flag(args, "verbose");
  const telemetry = new Telemetry({
    namespace: runtime.metricsNamespace,
    eventBusName: runtime.eventBusName,
    events: clients.events,
    write: (line) => {
      if (verbose) io.stderr(line);
    },
  });
  try {
    return await runRefresh(
      {
        runtime,
        secrets: clients.secrets,
        dynamodb: clients.dynamodb,
        clock: clients.clock,
        telemetry,
        ...(io.createDialect && { createDialect: io.createDialect }),
        ...(io.now && { localNow: io.now }),
      },
      credential,
      { force },
    );
  } finally {
    clients.destroy();
  }
}

export function reportResult(result: RefreshResult, config: RefresherConfig, args: ParsedArgs, io: CliIo): ExitCode {
  const code = exitCodeForResult(result);
  if (flag(args, "json")) {
    io.stdout(`${JSON.stringify({ ...result, exitCode: code }, null, 2)}\n`);
  } else {
    io.stdout(`${config.credential.name}: ${outcomeLine(result)}\n`);
  }
  const hint = hintFor(result, config.credential.dialect);
  if (hint) io.stderr(`hint: ${hint}\n`);
  return code;
}
