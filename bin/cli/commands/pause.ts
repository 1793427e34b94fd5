import { CloudWatchClient, DisableAlarmActionsCommand, EnableAlarmActionsCommand } from "@aws-sdk/client-cloudwatch";
import { DisableRuleCommand, EnableRuleCommand } from "@aws-sdk/client-eventbridge";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import type { RefresherConfig } from "../../../lambda/config/index.js";
import { StateTable } from "../../../lambda/state/state-table.js";
import { CliError, EXIT, type ExitCode } from "../errors.js";
import type { CliIo, Env } from "../io.js";
import { variableOf } from "../../../lambda/config/index.js";
import { awsClientConfig, fullConfig, runClients, type ParsedArgs } from "../settings.js";
import { reportResult, runWorkflow } from "./refresh.js";

/** What pause and resume switch: the credential's schedule rule and its alarms (the stack sets both variables). */
interface Switches {
  readonly ruleName: string;
  readonly alarmNames: readonly string[];
}

function switches({ runtime }: RefresherConfig): Switches {
  if (!runtime.scheduleRuleName) {
    throw new CliError(
      `${variableOf("scheduleRuleName")} is not set: pause and resume need the credential's schedule rule`,
      EXIT.usage,
      "pass --function with the refresher function, which carries it",
    );
  }
  return { ruleName: runtime.scheduleRuleName, alarmNames: runtime.alarmNames ?? [] };
}

/**
 * Stops the periodic refresh of one credential (README, "Pausing a credential"): records who paused
 * and when in the state table, disables the schedule rule and switches the alarms' actions off, so a
 * paused credential never pages. Runs then skip (`paused`) unless forced.
 */
export async function pauseCommand(args: ParsedArgs, io: CliIo): Promise<ExitCode> {
  const config = fullConfig(args.env);
  const { ruleName, alarmNames } = switches(config);
  const by = await callerArn(args.env);
  await withState(config, args.env, io, async (table, now) => table.setPaused({ by, at: now }, now));
  await switchAll(config, args.env, io, { ruleName, alarmNames }, false);
  io.stdout(`${config.credential.name}: paused by ${by}: schedule rule ${ruleName} disabled, actions of ${alarmNames.length} alarm(s) off\n`);
  io.stdout(`resume with: token-refresher resume${args.values.function ? ` --function ${String(args.values.function)}` : ""}\n`);
  return EXIT.ok;
}

/** Undoes pause: the alarms' actions and the schedule rule back on, the pause record cleared, then one run (it refreshes if due). */
export async function resumeCommand(args: ParsedArgs, io: CliIo): Promise<ExitCode> {
  const config = fullConfig(args.env);
  const { ruleName, alarmNames } = switches(config);
  await switchAll(config, args.env, io, { ruleName, alarmNames }, true);
  await withState(config, args.env, io, (table, now) => table.setPaused(undefined, now));
  io.stdout(`${config.credential.name}: resumed: schedule rule ${ruleName} enabled, actions of ${alarmNames.length} alarm(s) on\n`);
  const result = await runWorkflow(config, args, io, false);
  return reportResult(result, config, args, io);
}

/** The schedule rule and the alarms' actions, all on or all off. */
async function switchAll(config: RefresherConfig, env: Env, io: CliIo, { ruleName, alarmNames }: Switches, on: boolean): Promise<void> {
  const clients = runClients(io, env, config.runtime);
  const alarms = new CloudWatchClient(awsClientConfig(env));
  try {
    await clients.events.send(on ? new EnableRuleCommand({ Name: ruleName }) : new DisableRuleCommand({ Name: ruleName }));
    if (alarmNames.length === 0) return;
    const names = { AlarmNames: [...alarmNames] };
    await alarms.send(on ? new EnableAlarmActionsCommand(names) : new DisableAlarmActionsCommand(names));
  } finally {
    alarms.destroy();
    clients.destroy();
  }
}

async function withState(config: RefresherConfig, env: Env, io: CliIo, use: (table: StateTable, now: number) => Promise<void>): Promise<void> {
  const clients = runClients(io, env, config.runtime);
  try {
    const table = new StateTable(clients.dynamodb, config.runtime.stateTableName, config.credential.name);
    // The read sets the clock from AWS's answer, so the pause time is AWS's.
    await table.read();
    await use(table, clients.clock.now());
  } finally {
    clients.destroy();
  }
}

/** The operator's AWS identity, recorded as who paused. */
async function callerArn(env: Env): Promise<string> {
  const sts = new STSClient(awsClientConfig(env));
  try {
    return (await sts.send(new GetCallerIdentityCommand({}))).Arn ?? "unknown";
  } finally {
    sts.destroy();
  }
}
