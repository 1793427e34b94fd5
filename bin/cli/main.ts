import { CliError, EXIT, classifyError, type ExitCode } from "./errors.js";
import type { CliIo } from "./io.js";
import { Output } from "./output.js";
import { checkCommand } from "./commands/check.js";
import { initCommand } from "./commands/init.js";
import { pauseCommand, resumeCommand } from "./commands/pause.js";
import { refreshCommand } from "./commands/refresh.js";
import { statusCommand } from "./commands/status.js";
import { SETTING_VARIABLES, variableOf } from "../../lambda/config/index.js";
import { setting } from "../../lambda/config/table.js";
import { SETTING_FLAGS, flag, parseCommandLine, requireRegion, withFunctionConfig, type CommandName, type ParsedArgs } from "./settings.js";

import packageJson from "../../package.json" with { type: "json" };

export const VERSION: string = packageJson.version;

/** The configuration part of the help, from the settings table (docs/configuration.md has the whole table). */
function configHelp(): string {
  const rows: [string, string, string][] = [["--function NAME", "(all of the below)", "read them from the deployed refresher function's configuration"]];
  for (const { flag: name, field, variable } of SETTING_FLAGS) {
    const { flagValue, doc, default: fallback } = setting(field);
    const summary = doc.split(/(?<=\.)\s(?=[A-Z])|[:;]\s/)[0]!.replace(/\.$/, "");
    rows.push([`--${name} ${flagValue ?? "VALUE"}`, variable, `${summary}${fallback === undefined ? "" : ` (default ${JSON.stringify(fallback)})`}`]);
  }
  const width = (column: 0 | 1) => Math.max(...rows.map((row) => row[column].length)) + 2;
  const lines = rows.map(([option, variable, text]) => `  ${option.padEnd(width(0))}${variable.padEnd(width(1))}${text}`);
  const flagged = new Set(SETTING_FLAGS.map(({ variable }) => variable));
  const others = SETTING_VARIABLES.filter((variable) => !flagged.has(variable));
  return `Configuration: the Lambda's environment variables, or these flags (flags win):
${lines.join("\n")}
  Also read: ${others.join(", ")}; AWS_PROFILE and the other AWS SDK variables, AWS_ENDPOINT_URL (e.g. a local moto_server).
  Every setting, its default and limits: docs/configuration.md.`;
}

const CONFIG_HELP = configHelp();

const EXIT_HELP = `Exit codes:
  0  ok (refreshed, not due, reachable, token valid)
  1  the refresh failed (platform or protocol error, write conflict); status: no valid token
  2  usage or configuration error (arguments, variables, missing/malformed secret, AWS access)
  3  the platform rejected the credential, or the app is frozen: a person must act
  4  unreachable: DNS, TCP, TLS or timeout (platform or AWS)`;

const HELP: Record<"main" | CommandName, string> = {
  main: `token-refresher — operate the token refresher of one credential

Usage: token-refresher <command> [options]

Commands:
  init      create or check both secrets, then store the first token pair
  status    show the stored token's expiry, age, version and lease (never a token)
  refresh   run the refresh workflow once, as the scheduled Lambda does (--force: even if not due)
  check     reach the endpoint step by step: DNS, TCP, TLS (CA, client certificate), HTTP
  pause     stop the periodic refresh: alarm actions off, schedule rule disabled (never pages)
  resume    start it again: rule enabled, alarm actions on, and a refresh at once if the token is due

Run token-refresher <command> --help for a command's options.

${CONFIG_HELP}

${EXIT_HELP}
`,
  init: `Usage: token-refresher init [--client-secret-file FILE|-] [--ca-cert-file FILE] [--client-cert-file FILE]
                            [--client-key-file FILE] [--refresh-token-file FILE|-] [--replace] [--force]

Creates the client secret (from a JSON file, or - for standard input: IoT {"appId","secret"}, OAuth2
{"clientId","clientSecret"}; PEM files are added as caCertificate, clientCertificate, clientKey) and
the token secret, or checks them if they exist. Then runs the refresh workflow once: IoT logs in when
there is no pair; OAuth2 redeems the refresh token given with --refresh-token-file (FILE or -).
Secrets and tokens are never taken from the command line.

  --replace   overwrite a client secret that holds a different valid value, a refresh token already
              stored, or a token secret that cannot be parsed
  --force     force the run even when a valid pair is stored
  --json, -v/--verbose   as for refresh

${EXIT_HELP}
`,
  status: `Usage: token-refresher status [--json]

Reads the token secret (AWSCURRENT) and shows its state, expiry, age, version and the refresh token's
expiry, and what the next run does, decided by the workflow's own rule on AWS's clock. With
${variableOf("stateTableName")} and ${variableOf("name")} (or --function) also the lease holder, a pending version left by
a crashed run, the last attempt, failures in a row and backoff (checked against the client secret's
version when ${variableOf("clientSecretId")} is known), and whether the credential is paused. Never prints a token.
Needs at least ${variableOf("tokenSecretId")}. Exit 0 when the access token is valid, 1 when it is expired or absent.
`,
  refresh: `Usage: token-refresher refresh [--force] [--json] [--verbose]

Runs the Lambda's refresh workflow once with the same configuration: refreshes when due (or with
--force), under the same lease, with the same compare-and-swap write and EventBridge event.
  --json      print the run's result as one JSON document (never a token); failures too, as {"error": …}
  --verbose   also print the run's metric/log line (CloudWatch EMF) to stderr

${EXIT_HELP}
`,
  pause: `Usage: token-refresher pause --function NAME [--json]

Stops the periodic refresh of the credential, for a decommissioned app, a secret rotation or a
maintenance window: switches its alarms' actions off, records who paused and when (status shows
"paused since"), then disables the credential's schedule rule, so a paused credential never pages.
A run while paused skips ("paused") unless forced. A step that fails stops pause with what is in
force; running pause again completes it. Needs ${variableOf("scheduleRuleName")} and ${variableOf("alarmNames")}, which --function
reads from the deployed function.

${EXIT_HELP}
`,
  resume: `Usage: token-refresher resume --function NAME [--json] [--verbose]

Undoes pause: enables the schedule rule, clears the pause, switches the alarms' actions on, then runs
the refresh workflow once (it refreshes at once if the token is due). A step that fails stops resume
with what is in force; running resume again completes it.

${EXIT_HELP}
`,
  check: `Usage: token-refresher check [--timeout SECONDS] [--json]

Reads the client secret's TLS material and reaches the token endpoint: DNS, TCP, TLS (verifying the
server with caCertificate or the system trust store, presenting clientCertificate), then one HTTP GET
(not a token call: nothing is used or changed). Says which step fails and what to change.
Needs ${variableOf("clientSecretId")} and ${variableOf("endpointUrl")}. Certificate verification is never turned off.

${EXIT_HELP}
`,
};

const COMMAND_RUNNERS: Record<CommandName, (args: ParsedArgs, io: CliIo, out: Output) => Promise<ExitCode>> = {
  init: initCommand,
  status: statusCommand,
  refresh: refreshCommand,
  check: checkCommand,
  pause: pauseCommand,
  resume: resumeCommand,
};

/**
 * The CLI: returns the exit code; prints expected failures as one line (and a hint), never a stack
 * trace. With --json, stdout is one JSON document whatever happens, a usage error included.
 */
export async function main(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  let args: ParsedArgs;
  try {
    args = parseCommandLine(argv, io.env);
  } catch (error) {
    return new Output(io, wantsJson(argv)).fail(classifyError(error));
  }
  if (args.values.version) {
    io.stdout(`${VERSION}\n`);
    return EXIT.ok;
  }
  if (args.values.help || !args.command) {
    io[args.command || args.values.help ? "stdout" : "stderr"](HELP[args.command ?? "main"]);
    return args.command || args.values.help ? EXIT.ok : EXIT.usage;
  }
  const out = new Output(io, flag(args, "json"));
  try {
    await requireRegion(args.env);
    return await COMMAND_RUNNERS[args.command](await withFunctionConfig(args, io), io, out);
  } catch (error) {
    const failure = classifyError(error);
    if (io.env.TOKEN_REFRESHER_DEBUG && !(error instanceof CliError) && error instanceof Error && error.stack) io.stderr(`${error.stack}\n`);
    return out.fail(failure);
  }
}

/** --json among the options of a command line that did not parse (none after `--`). */
function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf("--");
  return (end === -1 ? argv : argv.slice(0, end)).includes("--json");
}
