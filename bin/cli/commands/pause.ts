import { CloudWatchClient, DisableAlarmActionsCommand, EnableAlarmActionsCommand } from "@aws-sdk/client-cloudwatch";
import { DisableRuleCommand, EnableRuleCommand } from "@aws-sdk/client-eventbridge";
import { variableOf, type RefresherConfig } from "../../../lambda/config/index.js";
import type { WriteProtocol } from "../../../lambda/protocol/write-protocol.js";
import { callerArn } from "../caller.js";
import { CliError, EXIT, classifyError, refusedByAws, type ExitCode } from "../errors.js";
import type { CliIo, Env } from "../io.js";
import type { Output } from "../output.js";
import { awsClientConfig, fullConfig, runClients, stringOption, writeProtocol, type ParsedArgs, type RunClients } from "../settings.js";
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
      "config",
      "pass --function with the refresher function, which carries it",
    );
  }
  return { ruleName: runtime.scheduleRuleName, alarmNames: runtime.alarmNames ?? [] };
}

/** The three things pause and resume switch, as the report names them. */
type Switch = "alarmActions" | "pauseRecord" | "scheduleRule";
const SWITCH_LABEL: Readonly<Record<Switch, string>> = { alarmActions: "alarm actions", pauseRecord: "pause record", scheduleRule: "schedule rule" };

/**
 * What is in force after a run, per switch: the value this run set, `unchanged` (this run did not
 * change it: not reached, or AWS refused the call — it is as it was before), or `unknown` (the call
 * got no answer, or a server error: it may have been applied).
 */
export type InForce = Partial<Record<Switch, string>>;

/** One AWS call of pause or resume; `to` is what `turns` is after it. */
interface Step {
  readonly does: string;
  readonly turns?: Switch;
  readonly to?: string;
  readonly run: () => Promise<void>;
}

/**
 * The order that never leaves the worst half-state — the schedule rule disabled while the alarm
 * actions are on, where `AccessTokenTtl`'s missing data pages: pause switches the alarm actions
 * off first and disables the rule last; resume enables the rule first and the alarm actions last.
 */
const ORDER_NOTE = {
  pause: "the schedule rule is disabled only after the alarm actions are off",
  resume: "the alarm actions go on only after the schedule rule is enabled",
} as const;

/**
 * Stops the periodic refresh of one credential (docs/cli.md, "Pausing a credential"): switches the
 * alarms' actions off, records who paused and when in the state table, then disables the schedule
 * rule, so a paused credential never pages. Runs then skip (`paused`) unless forced. Each step is
 * idempotent: run again, a pause that stopped half-way completes.
 */
export async function pauseCommand(args: ParsedArgs, io: CliIo, out: Output): Promise<ExitCode> {
  const config = fullConfig(args.env);
  const { ruleName, alarmNames } = switches(config);
  const again = sameCommand("pause", args);
  return withSwitchClients(config, args.env, io, async ({ clients, alarms, protocol }) => {
    let by = "unknown";
    const inForce = await applySteps("pause", again, [
      { does: "identify the caller", run: async () => { by = await callerArn(args.env); } },
      ...alarmStep(alarmNames, "off", async () => { await alarms.send(new DisableAlarmActionsCommand({ AlarmNames: [...alarmNames] })); }),
      { does: "record the pause", turns: "pauseRecord", to: "recorded", run: async () => { await protocol.recordPause(by); } },
      { does: "disable the schedule rule", turns: "scheduleRule", to: "disabled", run: async () => { await clients.events.send(new DisableRuleCommand({ Name: ruleName })); } },
    ]);
    const resumeWith = sameCommand("resume", args);
    out.done(
      { credential: config.credential.name, pausedBy: by, scheduleRule: ruleName, alarms: alarmNames, inForce, resumeWith, exitCode: EXIT.ok },
      `${config.credential.name}: paused by ${by}: schedule rule ${ruleName} disabled, actions of ${alarmNames.length} alarm(s) off\nresume with: ${resumeWith}\n`,
    );
    return EXIT.ok;
  });
}

/**
 * Undoes pause: the schedule rule enabled, the pause record cleared, the alarms' actions on, then
 * one run (it refreshes if due). Idempotent like pause.
 */
export async function resumeCommand(args: ParsedArgs, io: CliIo, out: Output): Promise<ExitCode> {
  const config = fullConfig(args.env);
  const { ruleName, alarmNames } = switches(config);
  const again = sameCommand("resume", args);
  await withSwitchClients(config, args.env, io, async ({ clients, alarms, protocol }) => {
    const inForce = await applySteps("resume", again, [
      { does: "enable the schedule rule", turns: "scheduleRule", to: "enabled", run: async () => { await clients.events.send(new EnableRuleCommand({ Name: ruleName })); } },
      { does: "clear the pause record", turns: "pauseRecord", to: "cleared", run: () => protocol.clearPause() },
      ...alarmStep(alarmNames, "on", async () => { await alarms.send(new EnableAlarmActionsCommand({ AlarmNames: [...alarmNames] })); }),
    ]);
    out.step(
      "resumed",
      { credential: config.credential.name, scheduleRule: ruleName, alarms: alarmNames, inForce },
      `${config.credential.name}: resumed: schedule rule ${ruleName} enabled, actions of ${alarmNames.length} alarm(s) on\n`,
    );
  });
  const result = await runWorkflow(config, args, io, false);
  return reportResult(result, config, out);
}

/** The step that switches the alarms' actions, when the credential has alarms. */
function alarmStep(alarmNames: readonly string[], to: "on" | "off", run: () => Promise<void>): Step[] {
  return alarmNames.length === 0 ? [] : [{ does: `switch the alarm actions ${to}`, turns: "alarmActions", to, run }];
}

/**
 * Runs the steps in order and stops at the first that fails, with an error that names the step,
 * says what is in force and gives the command that completes it (the same one: every step is idempotent).
 */
async function applySteps(command: keyof typeof ORDER_NOTE, again: string, steps: readonly Step[]): Promise<InForce> {
  const inForce: InForce = {};
  for (const step of steps) if (step.turns) inForce[step.turns] = "unchanged";
  for (const [index, step] of steps.entries()) {
    try {
      await step.run();
      if (step.turns) inForce[step.turns] = step.to;
    } catch (error) {
      if (step.turns) inForce[step.turns] = refusedByAws(error) ? "unchanged" : "unknown";
      const cause = classifyError(error);
      const state = Object.entries(inForce)
        .map(([name, value]) => `${SWITCH_LABEL[name as Switch]} ${value}`)
        .join(", ");
      throw new CliError(
        `${command} stopped at step ${index + 1} of ${steps.length} (${step.does}): ${cause.message}. In force now: ${state} (${ORDER_NOTE[command]})`,
        cause.kind,
        `${cause.hint ? `${cause.hint}; then complete` : "complete"} it with: ${again}`,
        { step: step.does, inForce },
      );
    }
  }
  return inForce;
}

/** The command line that runs `command` for the same credential. */
function sameCommand(command: string, args: ParsedArgs): string {
  const fn = stringOption(args, "function");
  return `token-refresher ${command}${fn ? ` --function ${fn}` : ""}`;
}

interface SwitchClients {
  readonly clients: RunClients;
  readonly alarms: CloudWatchClient;
  readonly protocol: WriteProtocol;
}

async function withSwitchClients<T>(config: RefresherConfig, env: Env, io: CliIo, use: (switchClients: SwitchClients) => Promise<T>): Promise<T> {
  const clients = runClients(io, env, config.runtime);
  const alarms = new CloudWatchClient(awsClientConfig(env));
  try {
    return await use({ clients, alarms, protocol: writeProtocol(config, clients, clients.clock, io.now) });
  } finally {
    alarms.destroy();
    clients.destroy();
  }
}
