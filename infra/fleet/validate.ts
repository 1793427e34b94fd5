import { Duration, Stack, Token } from "aws-cdk-lib";
import type * as logs from "aws-cdk-lib/aws-logs";
import type { Construct } from "constructs";
import { leaseSecondsFor, runBudgetMsFor, settingProblems, withDefaults, type SettingValues } from "../../lambda/config/rules.js";
import { setting, type SettingField } from "../../lambda/config/table.js";
import { alarmEvaluation, positiveThreshold, propReader, type Fail } from "../token-refresher/prop-checks.js";
import { FLEET_ALARMS, type FleetAlarmKind } from "./alarms.js";
import { DEFAULT_FLEET_RUNBOOK_URL, type FleetCountAlarmOptions, type TokenRefresherFleetProps } from "./props.js";

/** An alarm's evaluation after its defaults and the props are merged. */
export interface FleetAlarmSettings {
  readonly period: Duration;
  readonly threshold: number;
  readonly evaluationPeriods: number;
  readonly datapointsToAlarm: number;
}

/** The props, checked, with every default applied. */
export interface FleetSettings {
  readonly fleetName: string;
  readonly secretNamePrefix: string;
  readonly workerConcurrency: number;
  readonly timeout: Duration;
  readonly memorySize: number;
  readonly logRetention: logs.RetentionDays;
  readonly metricsNamespace: string;
  readonly runbookUrl: string;
  /** Enabled alarms only. */
  readonly alarms: Partial<Record<FleetAlarmKind, FleetAlarmSettings>>;
  /** Every setting the functions' environment carries that props give (lambda/config/table.ts), checked by the one rule set. */
  readonly values: SettingValues;
}

/** The settings the fleet's props give (docs/configuration.md), checked as the functions' environment parser checks them. */
const CHECKED_FIELDS: readonly SettingField[] = [
  "fleetName",
  "secretNamePrefix",
  "writeBudgetPerSecond",
  "overdueThresholdSeconds",
  "workerConcurrency",
  "timeoutSeconds",
  "httpTimeoutMs",
  "awsRequestTimeoutMs",
  "memorySizeMb",
  "metricsNamespace",
  "runbookUrl",
  "alarmEmail",
  "operatorPrincipalArns",
];

const stackFleets = new WeakMap<Stack, Set<string>>();


/**
 * Checks the props before anything is created, and derives the settings. Every prop with a row in the
 * settings table is checked by the table's rules (lambda/config/rules.ts), as the fleet functions'
 * environment parser checks the variable; each error names the prop and the construct's path.
 */
export function validateFleet(scope: Construct, props: TokenRefresherFleetProps): FleetSettings {
  const fail: Fail = (prop, problem) => {
    throw new Error(`TokenRefresherFleet ${scope.node.path}: ${prop} ${problem}`);
  };
  const { values, shown } = propValues(props, fail);
  const filled = withDefaults(values, CHECKED_FIELDS);
  const runBudgetMs = runBudgetMsFor(filled.timeoutSeconds as number);
  const checked: SettingValues = { ...filled, runBudgetMs, leaseSeconds: leaseSecondsFor(runBudgetMs) };
  const problems = settingProblems(checked, ["fleetName"]);
  if (problems.length > 0) {
    const lines = problems.map(({ field, problem }) => `${setting(field).prop ?? field} ${problem}${shown.has(field) && problem !== "is required" ? `, got ${shown.get(field)}` : ""}`);
    throw new Error(`TokenRefresherFleet ${scope.node.path}: ${lines.join("; ")}`);
  }
  const runbookUrl = checked.runbookUrl as string;
  // The paging messages are EventBridge input templates, where <name> is a placeholder.
  if (/[<>]/.test(runbookUrl)) fail("runbookUrl", `must not contain < or > (it goes into the paging events' input templates), got ${JSON.stringify(runbookUrl)}`);

  const stack = Stack.of(scope);
  if (Token.isUnresolved(stack.stackName)) {
    fail("fleetName", "needs a stack whose name is known at synth (not a NestedStack): the schedule rule's and the alarms' names derive from it");
  }
  const fleetName = checked.fleetName as string;
  const fleets = stackFleets.get(stack) ?? new Set<string>();
  if (fleets.has(fleetName)) fail("fleetName", `${JSON.stringify(fleetName)} is already used by another TokenRefresherFleet in stack ${stack.stackName}`);
  fleets.add(fleetName);
  stackFleets.set(stack, fleets);

  return {
    fleetName,
    secretNamePrefix: checked.secretNamePrefix as string,
    workerConcurrency: checked.workerConcurrency as number,
    timeout: Duration.seconds(checked.timeoutSeconds as number),
    memorySize: checked.memorySizeMb as number,
    logRetention: props.logRetention ?? (setting("logRetentionDays").default as logs.RetentionDays),
    metricsNamespace: checked.metricsNamespace as string,
    runbookUrl,
    alarms: alarmSettings(props, fail),
    values: checked,
  };
}

/**
 * The props as setting values in canonical units, and how each was given, for errors. Names the
 * resources, policies and alarms derive from must be concrete; an e-mail address or an operator ARN
 * left as a token passes unchecked (CloudFormation resolves it).
 */
function propValues(props: TokenRefresherFleetProps, fail: Fail): { values: SettingValues; shown: Map<SettingField, string> } {
  const { values, shown, set, concrete, duration } = propReader(fail);
  set("fleetName", concrete("fleetName", props.fleetName));
  set("secretNamePrefix", concrete("secretNamePrefix", props.secretNamePrefix));
  set("writeBudgetPerSecond", concrete("writeBudgetPerSecond", props.writeBudgetPerSecond));
  duration("overdueThresholdSeconds", "overdueThreshold", props.overdueThreshold, "s");
  set("workerConcurrency", concrete("workerConcurrency", props.workerConcurrency));
  duration("timeoutSeconds", "timeout", props.timeout, "s");
  duration("httpTimeoutMs", "httpTimeout", props.httpTimeout, "ms");
  set("memorySizeMb", concrete("memorySize", props.memorySize));
  set("metricsNamespace", concrete("metricsNamespace", props.metricsNamespace));
  set("runbookUrl", concrete("runbookUrl", props.runbookUrl ?? DEFAULT_FLEET_RUNBOOK_URL));
  if (!Token.isUnresolved(props.alarmEmail)) set("alarmEmail", props.alarmEmail);
  set("operatorPrincipalArns", props.operatorPrincipalArns && [...new Set(props.operatorPrincipalArns.filter((arn) => !Token.isUnresolved(arn)))]);
  return { values, shown };
}

/** Each enabled alarm's evaluation: its defaults merged with the props, checked. */
function alarmSettings(props: TokenRefresherFleetProps, fail: Fail): Partial<Record<FleetAlarmKind, FleetAlarmSettings>> {
  const result: Partial<Record<FleetAlarmKind, FleetAlarmSettings>> = {};
  for (const kind of Object.keys(FLEET_ALARMS) as FleetAlarmKind[]) {
    const defaults = FLEET_ALARMS[kind];
    const options: FleetCountAlarmOptions = props.alarms?.[kind] ?? {};
    if (options.enabled === false) continue;
    const prop = `alarms.${kind}`;
    const period = options.period ?? defaults.period;
    const periodS = period.isUnresolved() ? NaN : period.toSeconds({ integral: false });
    if (!Number.isInteger(periodS / 60) || periodS < 60) fail(`${prop}.period`, `must be a whole number of minutes, got ${period.isUnresolved() ? "a token" : period.toHumanString()}`);
    const { evaluationPeriods, datapointsToAlarm } = alarmEvaluation(prop, options, defaults, periodS, fail, defaults.window);
    const threshold = positiveThreshold(prop, options.threshold ?? defaults.threshold, fail);
    result[kind] = { period, threshold, evaluationPeriods, datapointsToAlarm };
  }
  return result;
}
