import type { RefresherConfig } from "../../../lambda/config/index.js";
import { runRefresh } from "../../../lambda/refresh/workflow.js";
import { Telemetry, type RefreshResult } from "../../../lambda/telemetry/telemetry.js";
import { exitCodeForResult, type ExitCode } from "../errors.js";
import { hintFor, outcomeLine } from "../format.js";
import type { CliIo } from "../io.js";
import { errorFact, type Output } from "../output.js";
import { flag, fullConfig, runClients, type ParsedArgs } from "../settings.js";

/** One run of the Lambda's workflow (`runRefresh`), from the command line. */
export async function refreshCommand(args: ParsedArgs, io: CliIo, out: Output): Promise<ExitCode> {
  const config = fullConfig(args.env);
  const result = await runWorkflow(config, args, io, flag(args, "force"));
  return reportResult(result, config, out);
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

/** Prints a run's result (the document: the result, its exit code, and for a failure `error`) and returns its exit code. */
export function reportResult(result: RefreshResult, config: RefresherConfig, out: Output): ExitCode {
  const exitCode = exitCodeForResult(result);
  const hint = hintFor(result, config.credential.dialect);
  out.done(
    { ...result, exitCode, ...(result.errorKind && { error: errorFact(result.errorKind, result.message ?? result.reason, hint) }) },
    `${config.credential.name}: ${outcomeLine(result)}\n`,
    hint,
  );
  return exitCode;
}
