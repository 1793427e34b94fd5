import { Duration, Stack, Token } from "aws-cdk-lib";
import * as events from "aws-cdk-lib/aws-events";
import * as logs from "aws-cdk-lib/aws-logs";
import type { Construct } from "constructs";
import { leaseSecondsFor, runBudgetMsFor, settingProblems, withDefaults, type SettingValues } from "../../lambda/config/rules.js";
import { setting, type SettingField } from "../../lambda/config/table.js";
import { usesRefreshToken } from "../../lambda/settings.js";
import { ALARM_DEFAULTS, type AlarmKind } from "./alarms.js";
import { alarmEvaluation, positiveThreshold, propReader, type Fail } from "./prop-checks.js";
import type { TokenDialect, TokenRefresherProps } from "./props.js";

/** An alarm's evaluation after defaults and props are merged. */
export interface AlarmSettings {
  readonly threshold: number;
  readonly evaluationPeriods: number;
  readonly datapointsToAlarm: number;
}

/** The props, validated, with every default applied. */
export interface Settings {
  readonly credentialName: string;
  readonly dialect: TokenDialect;
  readonly schedule: events.Schedule;
  readonly interval: Duration;
  readonly eventAge: Duration;
  readonly timeout: Duration;
  readonly metricsNamespace: string;
  readonly memorySize: number;
  readonly reservedConcurrency: number | undefined;
  readonly logRetention: logs.RetentionDays;
  readonly operatorPrincipalArns: readonly string[];
  readonly runbookUrl: string;
  /** Enabled alarms only. */
  readonly alarms: Partial<Record<AlarmKind, AlarmSettings>>;
  /**
   * The credential's and the function's settings, checked by the one rule set, defaults applied
   * (lambda/config/rules.ts); the construct adds the secrets, the table and the bus.
   */
  readonly values: SettingValues;
}

/** The settings the construct checks, from props and their defaults (the settings table, docs/configuration.md). */
const CHECKED_FIELDS: readonly SettingField[] = [
  "name",
  "dialect",
  "endpointUrl",
  "refreshWindowSeconds",
  "oauth2TokenPath",
  "oauth2DefaultExpiresInSeconds",
  "oauth2ClientAuth",
  "oauth2Scope",
  "oauth2Audience",
  "httpTimeoutMs",
  "awsRequestTimeoutMs",
  "metricsNamespace",
  "timeoutSeconds",
  "scheduleIntervalSeconds",
  "memorySizeMb",
  "reservedConcurrency",
  "accessTokenTtlThresholdSeconds",
  "refreshTokenTtlThresholdSeconds",
  "runbookUrl",
  "alarmEmail",
  "operatorPrincipalArns",
  "detailedMetrics",
];

const stackCredentials = new WeakMap<Stack, Set<string>>();

/**
 * Validates the props first and derives the settings. Every setting that has a row in the settings
 * table is checked by its rules (lambda/config/rules.ts), exactly as the handler's environment
 * parser and the CDK configuration file check it; each error names the prop and the construct path.
 */
export function validate(scope: Construct, props: TokenRefresherProps): Settings {
  const fail: Fail = (prop, problem) => {
    throw new Error(`TokenRefresher ${scope.node.path}: ${prop} ${problem}`);
  };
  const { values, shown } = propValues(props, fail);
  const schedule = props.schedule ?? events.Schedule.rate(Duration.seconds(setting("scheduleIntervalSeconds").default as number));
  const filled = withDefaults(values, CHECKED_FIELDS);
  const runBudgetMs = runBudgetMsFor(filled.timeoutSeconds as number);
  const checked: SettingValues = { ...filled, runBudgetMs, leaseSeconds: leaseSecondsFor(runBudgetMs) };
  const required: SettingField[] = Token.isUnresolved(props.endpointUrl) ? ["name"] : ["name", "endpointUrl"];
  const [first] = settingProblems(checked, required);
  if (first) {
    const prop = first.field === "scheduleIntervalSeconds" && props.scheduleInterval ? "scheduleInterval" : (setting(first.field).prop ?? first.field);
    fail(prop, `${first.problem}${shown.has(first.field) && first.problem !== "is required" ? `, got ${shown.get(first.field)}` : ""}`);
  }
  const credentialName = checked.name as string;
  const dialect = checked.dialect as TokenDialect;
  const intervalS = checked.scheduleIntervalSeconds as number;
  const alarms = alarmSettings(props, checked, fail);
  const horizon = refreshTokenTtlHorizon(checked.detailedMetrics as boolean, alarms.refreshTokenTtl);

  if (props.alarmActions !== undefined) {
    if (props.alarmTopic) fail("alarmTopic", "must not be set together with alarmActions (put an SnsAction for the topic into alarmActions)");
    if (props.alarmEmail) fail("alarmEmail", "needs the alarm topic, and alarmActions replaces it (subscribe the address to your own topic)");
  }
  if (props.clientSecret && props.tokenSecret && props.clientSecret.secretArn === props.tokenSecret.secretArn) {
    fail("tokenSecret", "must not be the client secret: consumers who can read the token secret must not be able to refresh");
  }
  if (props.encryptionKey && props.clientSecret && props.tokenSecret) {
    fail("encryptionKey", "only applies to secrets the construct creates, and both are imported: import them with Secret.fromSecretAttributes({ encryptionKey }) instead");
  }
  if (props.operatorPrincipalArns && props.clientSecret && props.tokenSecret) {
    fail("operatorPrincipalArns", "only applies to the resource policies of secrets the construct creates, and both are imported");
  }
  if (!props.vpc && (props.vpcSubnets || props.securityGroups)) {
    fail(props.vpcSubnets ? "vpcSubnets" : "securityGroups", "needs vpc");
  }

  const stack = Stack.of(scope);
  if (Token.isUnresolved(stack.stackName)) {
    throw new Error(
      `TokenRefresher ${scope.node.path}: needs a stack whose name is known at synth (not a NestedStack): the schedule rule's and the alarms' names derive from it and are given to the function`,
    );
  }
  const names = stackCredentials.get(stack) ?? new Set<string>();
  if (names.has(credentialName)) fail("credentialName", `${JSON.stringify(credentialName)} is already used by another TokenRefresher in stack ${stack.stackName}`);
  names.add(credentialName);
  stackCredentials.set(stack, names);

  const reserved = checked.reservedConcurrency as number;
  return {
    credentialName,
    dialect,
    schedule,
    interval: Duration.seconds(intervalS),
    // Lambda and EventBridge accept 60 s .. 6 h / 24 h.
    eventAge: Duration.seconds(Math.min(intervalS, 6 * 3600)),
    timeout: Duration.seconds(checked.timeoutSeconds as number),
    metricsNamespace: checked.metricsNamespace as string,
    memorySize: checked.memorySizeMb as number,
    // 0 reserves nothing: Lambda would read 0 as "never run".
    reservedConcurrency: reserved > 0 ? reserved : undefined,
    logRetention: props.logRetention ?? (setting("logRetentionDays").default as logs.RetentionDays),
    // All of them, deploy-time tokens included: the resource policies list them.
    operatorPrincipalArns: [...new Set(props.operatorPrincipalArns ?? [])],
    runbookUrl: checked.runbookUrl as string,
    alarms,
    values: horizon === undefined ? checked : { ...checked, refreshTokenTtlReportBelowSeconds: horizon },
  };
}

/**
 * How long before its expiry the refresh token is reported (docs/cost.md): twice the alarm's
 * threshold, so the alarm sees the metric for a whole threshold before it fires and a healthy
 * credential sends none. Unset (always reported) with detailed metrics, or without the alarm.
 */
function refreshTokenTtlHorizon(detailedMetrics: boolean, alarm: AlarmSettings | undefined): number | undefined {
  return detailedMetrics || alarm === undefined ? undefined : 2 * alarm.threshold;
}

/**
 * The props as setting values in canonical units (durations in seconds or ms), and how each was
 * given, for errors. A value only known at deploy time cannot be checked: where the function needs it
 * concrete, that is an error; an endpoint or e-mail address left as a token passes unchecked.
 */
function propValues(props: TokenRefresherProps, fail: Fail): { values: SettingValues; shown: Map<SettingField, string> } {
  const { values, shown, set, concrete, duration } = propReader(fail);
  set("name", concrete("credentialName", props.credentialName));
  set("dialect", props.dialect);
  // A token is checked at deploy time by nobody: the function's cold start names it if it is wrong.
  if (!Token.isUnresolved(props.endpointUrl)) set("endpointUrl", props.endpointUrl);
  set("oauth2TokenPath", props.oauth2TokenPath);
  duration("oauth2DefaultExpiresInSeconds", "oauth2DefaultExpiresIn", props.oauth2DefaultExpiresIn, "s");
  for (const [field, prop] of [
    ["oauth2ClientAuth", "oauth2ClientAuth"],
    ["oauth2Scope", "oauth2Scope"],
    ["oauth2Audience", "oauth2Audience"],
  ] as const) {
    set(field, concrete(prop, props[prop]));
  }
  duration("refreshWindowSeconds", "refreshWindow", props.refreshWindow, "s");
  duration("timeoutSeconds", "timeout", props.timeout, "s");
  duration("httpTimeoutMs", "httpTimeout", props.httpTimeout, "ms");
  const interval = props.scheduleInterval ?? (props.schedule && parseRate(props.schedule.expressionString));
  if (props.schedule && !interval) {
    fail("scheduleInterval", `is required for the schedule ${props.schedule.expressionString} (only rate(...) schedules give their interval)`);
  }
  duration("scheduleIntervalSeconds", props.scheduleInterval ? "scheduleInterval" : "schedule", interval, "s");
  set("memorySizeMb", props.memorySize);
  set("reservedConcurrency", props.reservedConcurrency);
  set("metricsNamespace", props.metricsNamespace);
  const accessTokenTtl = props.alarms?.accessTokenTtl;
  if (accessTokenTtl?.enabled !== false) duration("accessTokenTtlThresholdSeconds", "alarms.accessTokenTtl.threshold", accessTokenTtl?.threshold, "s");
  const refreshTokenTtl = props.alarms?.refreshTokenTtl;
  if (refreshTokenTtl?.enabled !== false) duration("refreshTokenTtlThresholdSeconds", "alarms.refreshTokenTtl.threshold", refreshTokenTtl?.threshold, "s");
  set("runbookUrl", concrete("runbookUrl", props.runbookUrl));
  // Off unless a dashboard draws the run counts (docs/cost.md): each metric costs for every hour it is sent.
  set("detailedMetrics", concrete("detailedMetrics", props.detailedMetrics ?? props.dashboard ?? setting("dashboard").default));
  if (!Token.isUnresolved(props.alarmEmail)) set("alarmEmail", props.alarmEmail);
  // A role created in the same app is a token here: CloudFormation resolves it, the rule cannot.
  set("operatorPrincipalArns", props.operatorPrincipalArns && [...new Set(props.operatorPrincipalArns.filter((arn) => !Token.isUnresolved(arn)))]);
  return { values, shown };
}

/**
 * Per-alarm settings: the enabled alarms, defaults merged with the props, each checked. The two TTL
 * thresholds are settings of the table, already checked with the rest (`values`).
 */
function alarmSettings(props: TokenRefresherProps, values: SettingValues, fail: Fail): Partial<Record<AlarmKind, AlarmSettings>> {
  const dialect = values.dialect as TokenDialect;
  const intervalS = values.scheduleIntervalSeconds as number;
  const result: Partial<Record<AlarmKind, AlarmSettings>> = {};
  for (const kind of Object.keys(ALARM_DEFAULTS) as AlarmKind[]) {
    const defaults = ALARM_DEFAULTS[kind];
    const options = props.alarms?.[kind] ?? {};
    if (!(options.enabled ?? !defaults.optIn)) continue;
    const prop = `alarms.${kind}`;
    if (kind === "refreshTokenTtl" && !usesRefreshToken(dialect)) {
      // Nothing to watch: the dialect's tokens come without a refresh token (docs/construct.md, "Alarms").
      if (props.alarms?.refreshTokenTtl !== undefined) fail(prop, `is not used by the ${dialect} dialect, which has no refresh token`);
      continue;
    }
    let threshold: number;
    if (kind === "accessTokenTtl") {
      threshold = values.accessTokenTtlThresholdSeconds as number;
    } else if (kind === "refreshTokenTtl") {
      threshold = values.refreshTokenTtlThresholdSeconds as number;
    } else {
      threshold = positiveThreshold(prop, (options as { threshold?: number }).threshold ?? 1, fail);
    }
    const periodS = defaults.period === "schedule" ? intervalS : defaults.period.toSeconds();
    const { evaluationPeriods, datapointsToAlarm } = alarmEvaluation(prop, options, defaults, periodS, fail);
    result[kind] = { threshold, evaluationPeriods, datapointsToAlarm };
  }
  return result;
}

/** The interval of a `rate(...)` expression, or undefined for cron and other expressions. */
function parseRate(expression: string): Duration | undefined {
  const match = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression);
  if (!match) return undefined;
  const value = Number(match[1]);
  const unit = match[2]!;
  if (unit.startsWith("minute")) return Duration.minutes(value);
  if (unit.startsWith("hour")) return Duration.hours(value);
  return Duration.days(value);
}
