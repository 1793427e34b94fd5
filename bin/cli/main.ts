import { CliError, EXIT, classifyError, type ExitCode } from "./errors.js";
import type { CliIo } from "./io.js";
import { Output } from "./output.js";
import { checkCommand } from "./commands/check.js";
import { initCommand } from "./commands/init.js";
import { pauseCommand, resumeCommand } from "./commands/pause.js";
import { refreshCommand } from "./commands/refresh.js";
import { statusCommand } from "./commands/status.js";
import { variableOf, type SettingField } from "../../lambda/config/index.js";
import { ENV_SETTINGS, setting } from "../../lambda/config/table.js";
import { fleetAddCommand } from "./commands/fleet/add.js";
import { fleetListCommand } from "./commands/fleet/list.js";
import { fleetPauseCommand, fleetResumeCommand } from "./commands/fleet/pause.js";
import { fleetRemoveCommand } from "./commands/fleet/remove.js";
import { fleetShowCommand } from "./commands/fleet/show.js";
import { FLEET_ADD_CREDENTIAL_FIELDS, FLEET_SETTING_FLAG_FIELDS, SETTING_FLAGS, flag, parseCommandLine, requireRegion, withFunctionConfig, type CommandName, type HelpTopic, type ParsedArgs } from "./settings.js";

import packageJson from "../../package.json" with { type: "json" };

export const VERSION: string = packageJson.version;

/** Help rows for setting flags: the flag, its variable and the first sentence of its doc, from the settings table. */
function flagRows(fields: readonly SettingField[], first: readonly [string, string, string][] = []): string {
  const rows: [string, string, string][] = [...first];
  for (const { flag: name, field, variable } of SETTING_FLAGS.filter((entry) => fields.includes(entry.field))) {
    const { flagValue, doc, default: fallback, required } = setting(field);
    // The first sentence, up to a colon or semicolon, without a parenthesis left open by the cut.
    const summary = doc.split(/(?<=\.)\s(?=[A-Z])|[:;]\s/)[0]!.replace(/\.$/, "").replace(/\s*\([^)]*$/, "");
    const note = required ? " (required)" : fallback === undefined ? "" : ` (default ${JSON.stringify(fallback)})`;
    rows.push([`--${name} ${flagValue ?? "VALUE"}`, variable, `${summary}${note}`]);
  }
  const width = (column: 0 | 1) => Math.max(...rows.map((row) => row[column].length)) + 2;
  return rows.map(([option, variable, text]) => `  ${option.padEnd(width(0))}${variable.padEnd(width(1))}${text}`).join("\n");
}

const groupFields = (...groups: string[]) => SETTING_FLAGS.filter(({ field }) => groups.includes(setting(field).group)).map(({ field }) => field);

/** The configuration part of the help, from the settings table (docs/configuration.md has the whole table). */
function configHelp(): string {
  const fields = groupFields("credential", "runtime", "cli");
  const lines = flagRows(fields, [["--function NAME", "(all of the below)", "read them from the deployed refresher function's configuration"]]);
  const flagged = new Set(SETTING_FLAGS.map(({ variable }) => variable));
  const others = ENV_SETTINGS.flatMap(([field, variable]) => (setting(field).group === "fleet" || flagged.has(variable) ? [] : [variable]));
  return `Configuration: the Lambda's environment variables, or these flags (flags win):
${lines}
  Also read: ${others.join(", ")}; AWS_PROFILE and the other AWS SDK variables, AWS_ENDPOINT_URL (e.g. a local moto_server).
  Every setting, its default and limits: docs/configuration.md.`;
}

/** The fleet's settings: what every fleet command reads from the worker function (docs/fleet.md). */
function fleetConfigHelp(): string {
  const variables = [...(["fleetName", "registryTableName", "stateTableName", "runRoleArn", "secretNamePrefix", "operatorPrincipalArns"] as const).map((field) => variableOf(field))];
  const lines = flagRows(FLEET_SETTING_FLAG_FIELDS, [["--function NAME", "(all of them)", "read them from the fleet's deployed worker function"]]);
  return `Fleet settings: ${variables.join(", ")}
and a run's runtime settings, from the worker function with --function, or the environment, or
these flags (flags win):
${lines}`;
}

const CONFIG_HELP = configHelp();
const FLEET_CONFIG_HELP = fleetConfigHelp();

const EXIT_HELP = `Exit codes:
  0  ok (refreshed, not due, reachable, token valid)
  1  the refresh failed (platform or protocol error, write conflict); status: no valid token
  2  usage or configuration error (arguments, variables, missing/malformed secret, AWS access)
  3  the platform rejected the credential, or the app is frozen: a person must act
  4  unreachable: DNS, TCP, TLS or timeout (platform or AWS)`;

const HELP: Record<"main" | HelpTopic, string> = {
  main: `token-refresher — operate the token refresher of one credential

Usage: token-refresher <command> [options]

Commands:
  init      create or check both secrets, then store the first token pair
  status    show the stored token's expiry, age, version and lease (never a token)
  refresh   run the refresh workflow once, as the scheduled Lambda does (--force: even if not due)
  check     reach the endpoint step by step: DNS, TCP, TLS (CA, client certificate), HTTP
  pause     stop the periodic refresh: alarm actions off, schedule rule disabled (never pages)
  resume    start it again: rule enabled, alarm actions on, and a refresh at once if the token is due
  fleet     a fleet's credentials as data: fleet add, list, show, pause, resume, remove (see fleet --help)

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
  fleet: `Usage: token-refresher fleet <command> --function WORKER [options]

Operates a fleet (docs/fleet.md): credentials are items of its registry table, refreshed by its
scheduler and workers; no deployment per credential.
  add      register a credential: its two secrets (tagged, with resource policies), then its
           registry item, due at once; a step that fails undoes what add created
  list     every credential: status, next due, last outcome
  show     one credential's registry item and its token's state (never a token)
  pause    take a credential out of the due index: no runs, no overdue page
  resume   put it back in the due index
  remove   delete its registry item, state item and both secrets; refuses while the token secret
           holds tokens unless --force (the secrets stay restorable for their recovery window)

The commands that change the fleet are for its operators (${variableOf("operatorPrincipalArns")}): the secrets'
resource policies let only them and the run role change or delete the secrets.
Run token-refresher fleet <command> --help for a command's options.

${FLEET_CONFIG_HELP}

${EXIT_HELP}
`,
  "fleet add": `Usage: token-refresher fleet add --credential NAME --endpoint URL [--dialect NAME] [credential options]
                                --client-secret-file FILE|- [--ca-cert-file FILE] [--client-cert-file FILE]
                                [--client-key-file FILE] [--refresh-token-file FILE|-] [--json]

Registers one credential: its spec from these flags (only what is given is stored; the defaults
apply at run time), checked by the same rules as the construct's:
${flagRows(FLEET_ADD_CREDENTIAL_FIELDS)}
The client secret is JSON from --client-secret-file (a file, or - for standard input: IoT
{"appId","secret"}, OAuth2 {"clientId","clientSecret"}); PEM files are added as caCertificate,
clientCertificate, clientKey. It is checked as the refresher will use it, without a network call.
The oauth2 dialect also needs the refresh token a person authorized: --refresh-token-file FILE or -.
Secrets and tokens are never taken from the command line.

Then creates the client secret and the token secret (<prefix><fleet>/<credential>/client and
/token, tagged with the fleet, the credential and the secret's role, each with a resource policy that
lets only the run role and the operators through), stores the refresh token (oauth2) and writes the
registry item: active, due at once. A step that fails undoes what this command created (secrets
deleted without recovery, unless one held a token pair) and says what was undone.

${EXIT_HELP}
`,
  "fleet list": `Usage: token-refresher fleet list [--json]

Lists every credential of the fleet's registry (all pages): status, dialect, next due (now, a time,
or - when out of the due index) and the last run's outcome. Reads no secret.
`,
  "fleet show": `Usage: token-refresher fleet show --credential NAME [--json]

Shows the credential's registry item (its spec, status, next due, last outcome, who added or paused
it) and its token's state as token-refresher status shows a dedicated credential's: expiry, age,
version, lease, backoff, what its next run does. Never prints a token. Exit 0 when the access token
is valid, 1 when it is expired or absent.
`,
  "fleet pause": `Usage: token-refresher fleet pause --credential NAME [--json]

Sets the credential's status to paused, recording who and when, and takes it out of the due index:
the scheduler neither runs it nor pages for it as overdue. Undo with fleet resume.

${EXIT_HELP}
`,
  "fleet resume": `Usage: token-refresher fleet resume --credential NAME [--json]

Sets the credential's status back to active and puts it in the due index again: the scheduler runs
it from its next due time (at once if that has passed).

${EXIT_HELP}
`,
  "fleet remove": `Usage: token-refresher fleet remove --credential NAME [--force] [--json]

Removes the credential: out of the due index first, then its token secret and client secret
(with Secrets Manager's default recovery window of 30 days: aws secretsmanager restore-secret brings
one back), its state item, and last its registry item, so what a failed remove leaves is still
listed; run it again to complete it. Refuses while the token secret holds a token pair or a refresh
token, unless --force.

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
  "fleet add": fleetAddCommand,
  "fleet list": fleetListCommand,
  "fleet show": fleetShowCommand,
  "fleet pause": fleetPauseCommand,
  "fleet resume": fleetResumeCommand,
  "fleet remove": fleetRemoveCommand,
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
  if (args.values.help || !args.command || args.command === "fleet") {
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
