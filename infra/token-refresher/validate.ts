import { Duration, Stack, Token } from "aws-cdk-lib";
import * as events from "aws-cdk-lib/aws-events";
import * as logs from "aws-cdk-lib/aws-logs";
import type { Construct } from "constructs";
import {
  DEFAULT_DIALECT,
  DEFAULT_METRICS_NAMESPACE,
  DEPLOYMENT_LIMITS,
  DIALECTS,
  HANDLER_LIMITS,
  OAUTH2_DIALECTS,
  WRITE_GRACE_MS,
  checkOAuth2Options,
  usesRefreshToken,
  type OAuth2Options,
} from "../../lambda/settings.js";
import { ALARM_DEFAULTS, type AlarmKind } from "./alarms.js";
import { operatorPrincipalArnsProblem } from "./principals.js";
import {
  DEFAULT_ACCESS_TOKEN_TTL_THRESHOLD,
  DEFAULT_MEMORY_MB,
  DEFAULT_REFRESH_TOKEN_TTL_THRESHOLD,
  DEFAULT_RUNBOOK_URL,
  DEFAULT_TIMEOUT,
  type TokenDialect,
  type TokenRefresherProps,
} from "./props.js";

/** Time the function keeps after the run budget: the write of an issued pair (retried), the event and the report. */
export const WRITE_AND_REPORT_TIME = Duration.millis(WRITE_GRACE_MS);
/** How much longer than the function timeout a run's lease in the state table lasts. */
const LEASE_MARGIN = Duration.seconds(60);
/** CloudWatch evaluates at most one day of periods. */
const MAX_EVALUATION_SECONDS = 86_400;

const CREDENTIAL_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const NAMESPACE = /^[A-Za-z0-9 ._/#:-]{1,255}$/;

/** The prop that sets each OAuth2 option. */
const OAUTH2_OPTION_PROPS = { clientAuth: "oauth2ClientAuth", scope: "oauth2Scope", audience: "oauth2Audience" } as const satisfies Record<
  keyof OAuth2Options,
  keyof TokenRefresherProps
>;
const OAUTH2_OPTION_PROPS_LIST = Object.values(OAUTH2_OPTION_PROPS);
/** The props only the OAuth2 dialects use. */
const OAUTH2_PROPS = ["oauth2TokenPath", "oauth2DefaultExpiresIn", ...OAUTH2_OPTION_PROPS_LIST] as const;

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
  readonly refreshWindow: Duration;
  readonly timeout: Duration;
  readonly runBudget: Duration;
  readonly lease: Duration;
  readonly httpTimeout: Duration;
  readonly defaultExpiresIn: Duration;
  /** The OAuth2 client authentication, scope and audience that are set (OAuth2 dialects only). */
  readonly oauth2: OAuth2Options;
  readonly metricsNamespace: string;
  readonly memorySize: number;
  readonly reservedConcurrency: number | undefined;
  readonly logRetention: logs.RetentionDays;
  readonly operatorPrincipalArns: readonly string[];
  readonly runbookUrl: string;
  /** Enabled alarms only. */
  readonly alarms: Partial<Record<AlarmKind, AlarmSettings>>;
}

const stackCredentials = new WeakMap<Stack, Set<string>>();

/** Validates the props first (every error names the prop and the construct path) and derives the settings. */
export function validate(scope: Construct, props: TokenRefresherProps): Settings {
  const fail = (prop: string, problem: string): never => {
    throw new Error(`TokenRefresher ${scope.node.path}: ${prop} ${problem}`);
  };
  const seconds = (prop: string, value: Duration): number => {
    if (value.isUnresolved()) fail(prop, "must be a concrete duration, not a token");
    return value.toSeconds();
  };

  const name = props.credentialName as unknown;
  if (typeof name !== "string" || Token.isUnresolved(name) || !CREDENTIAL_NAME.test(name)) {
    fail("credentialName", `must be 1-64 letters, digits, "_", "." or "-", got ${JSON.stringify(name)}`);
  }
  const credentialName = name as string;
  const dialect = props.dialect ?? DEFAULT_DIALECT;
  if (!DIALECTS.includes(dialect)) fail("dialect", `must be one of ${DIALECTS.join(", ")}, got ${JSON.stringify(dialect)}`);

  checkEndpointUrl(props.endpointUrl, fail);
  for (const prop of OAUTH2_PROPS) {
    if (props[prop] !== undefined && !OAUTH2_DIALECTS.includes(dialect)) fail(prop, `is only used by the oauth2 and client_credentials dialects (dialect is ${dialect})`);
  }
  if (props.oauth2TokenPath !== undefined && !/^(\/|https:\/\/)\S*$/.test(props.oauth2TokenPath)) {
    fail("oauth2TokenPath", `must be a path starting with "/" or an https URL, got ${JSON.stringify(props.oauth2TokenPath)}`);
  }
  for (const prop of OAUTH2_OPTION_PROPS_LIST) {
    const value = props[prop] as unknown;
    if (value !== undefined && (typeof value !== "string" || Token.isUnresolved(value))) fail(prop, `must be a string known at synth, not a token, got ${JSON.stringify(value)}`);
  }
  const oauth2 = checkOAuth2Options({ clientAuth: props.oauth2ClientAuth, scope: props.oauth2Scope, audience: props.oauth2Audience }, (option, problem) =>
    fail(OAUTH2_OPTION_PROPS[option], problem),
  );
  const expiresLimit = HANDLER_LIMITS.DEFAULT_EXPIRES_IN_SECONDS;
  const defaultExpiresIn = props.oauth2DefaultExpiresIn ?? Duration.seconds(expiresLimit.default);
  const expiresS = seconds("oauth2DefaultExpiresIn", defaultExpiresIn);
  if (!Number.isInteger(expiresS) || expiresS < expiresLimit.min || expiresS > expiresLimit.max) {
    fail("oauth2DefaultExpiresIn", `must be whole seconds between ${expiresLimit.min} s and ${expiresLimit.max} s (365 days), got ${defaultExpiresIn.toHumanString()}`);
  }

  const scheduleLimit = DEPLOYMENT_LIMITS.scheduleMinutes;
  const schedule = props.schedule ?? events.Schedule.rate(Duration.minutes(scheduleLimit.default));
  const interval = props.scheduleInterval ?? parseRate(schedule.expressionString);
  if (!interval) {
    return fail("scheduleInterval", `is required for the schedule ${schedule.expressionString} (only rate(...) schedules give their interval)`);
  }
  const intervalS = seconds("scheduleInterval", interval);
  if (intervalS < 60 || intervalS % 60 !== 0) fail("scheduleInterval", `must be a whole number of minutes, got ${interval.toHumanString()}`);
  // Alarms evaluate two intervals; CloudWatch allows at most one day of evaluation.
  if (intervalS > scheduleLimit.max * 60) fail("schedule", `interval must be at most ${scheduleLimit.max / 60} hours, got ${interval.toHumanString()}`);

  const windowLimit = HANDLER_LIMITS.REFRESH_WINDOW_SECONDS;
  const refreshWindow = props.refreshWindow ?? Duration.seconds(windowLimit.default);
  const windowS = seconds("refreshWindow", refreshWindow);
  if (windowS <= intervalS) {
    fail("refreshWindow", `(${refreshWindow.toHumanString()}) must be longer than the schedule interval (${interval.toHumanString()}), or the token can expire between two runs`);
  }
  if (!Number.isInteger(windowS) || windowS > windowLimit.max) fail("refreshWindow", `must be whole seconds, at most ${windowLimit.max} s (1 day)`);

  const timeoutLimit = DEPLOYMENT_LIMITS.timeoutSeconds;
  const timeout = props.timeout ?? DEFAULT_TIMEOUT;
  const timeoutS = seconds("timeout", timeout);
  if (!Number.isInteger(timeoutS) || timeoutS < timeoutLimit.min || timeoutS > timeoutLimit.max) {
    fail("timeout", `must be whole seconds between 20 seconds and 15 minutes, got ${timeout.toHumanString()}`);
  }
  if (timeoutS >= intervalS) fail("timeout", `(${timeout.toHumanString()}) must be shorter than the schedule interval (${interval.toHumanString()})`);
  const runBudget = Duration.seconds(timeoutS - WRITE_AND_REPORT_TIME.toSeconds());
  const lease = Duration.seconds(timeoutS + LEASE_MARGIN.toSeconds());
  if (runBudget.toMilliseconds() > HANDLER_LIMITS.RUN_BUDGET_MS.max) {
    fail("timeout", `(${timeout.toHumanString()}) leaves a run budget (timeout - 15 s) above the handler's maximum of ${HANDLER_LIMITS.RUN_BUDGET_MS.max / 1000} s`);
  }

  const httpLimit = HANDLER_LIMITS.HTTP_TIMEOUT_MS;
  const httpTimeout = props.httpTimeout ?? Duration.millis(httpLimit.default);
  if (httpTimeout.isUnresolved()) fail("httpTimeout", "must be a concrete duration, not a token");
  const httpMs = httpTimeout.toMilliseconds();
  if (!Number.isInteger(httpMs) || httpMs < httpLimit.min || httpMs > Math.min(httpLimit.max, runBudget.toMilliseconds())) {
    fail("httpTimeout", `must be between 100 ms and the run budget (timeout - 15 s = ${runBudget.toHumanString()}), got ${httpTimeout.toHumanString()}`);
  }

  const reserved = props.reservedConcurrency;
  if (reserved !== undefined && (!Number.isInteger(reserved) || reserved < 1)) {
    fail("reservedConcurrency", `must be a whole number >= 1 (leave it unset to reserve nothing), got ${JSON.stringify(reserved)}`);
  }
  const memorySize = props.memorySize ?? DEFAULT_MEMORY_MB;
  const memoryLimit = DEPLOYMENT_LIMITS.memorySizeMb;
  if (!Number.isInteger(memorySize) || memorySize < memoryLimit.min || memorySize > memoryLimit.max) {
    fail("memorySize", `must be a whole number of MB between ${memoryLimit.min} and ${memoryLimit.max}, got ${memorySize}`);
  }

  const metricsNamespace = props.metricsNamespace ?? DEFAULT_METRICS_NAMESPACE;
  if (!NAMESPACE.test(metricsNamespace) || metricsNamespace.startsWith("AWS/")) {
    fail("metricsNamespace", `must be 1-255 characters of letters, digits, space and . _ / # : - and not start with "AWS/", got ${JSON.stringify(metricsNamespace)}`);
  }

  if (props.alarmActions !== undefined) {
    if (props.alarmTopic) fail("alarmTopic", "must not be set together with alarmActions (put an SnsAction for the topic into alarmActions)");
    if (props.alarmEmail) fail("alarmEmail", "needs the alarm topic, and alarmActions replaces it (subscribe the address to your own topic)");
  }
  if (props.alarmEmail !== undefined && !Token.isUnresolved(props.alarmEmail) && !EMAIL.test(props.alarmEmail)) {
    fail("alarmEmail", `must be an e-mail address, got ${JSON.stringify(props.alarmEmail)}`);
  }
  const runbookUrl = props.runbookUrl ?? DEFAULT_RUNBOOK_URL;
  // eslint-disable-next-line no-control-regex -- the check is about control characters
  if (Token.isUnresolved(runbookUrl) || runbookUrl.length === 0 || runbookUrl.length > 400 || /[\u0000-\u001f\u007f]/.test(runbookUrl)) {
    fail("runbookUrl", `must be 1-400 characters without control characters (it goes into every alarm description), got ${JSON.stringify(runbookUrl)}`);
  }
  const alarms = alarmSettings(props, dialect, intervalS, windowS, fail);

  if (props.clientSecret && props.tokenSecret && props.clientSecret.secretArn === props.tokenSecret.secretArn) {
    fail("tokenSecret", "must not be the client secret: consumers who can read the token secret must not be able to refresh");
  }
  if (props.encryptionKey && props.clientSecret && props.tokenSecret) {
    fail("encryptionKey", "only applies to secrets the construct creates, and both are imported: import them with Secret.fromSecretAttributes({ encryptionKey }) instead");
  }
  const operatorPrincipalArns = [...new Set(props.operatorPrincipalArns ?? [])];
  const operatorProblem = operatorPrincipalArnsProblem(operatorPrincipalArns);
  if (operatorProblem) fail("operatorPrincipalArns", operatorProblem);
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

  return {
    credentialName,
    dialect,
    schedule,
    interval,
    // Lambda and EventBridge accept 60 s .. 6 h / 24 h.
    eventAge: Duration.seconds(Math.min(intervalS, 6 * 3600)),
    refreshWindow,
    timeout,
    runBudget,
    lease,
    httpTimeout,
    defaultExpiresIn,
    oauth2,
    metricsNamespace,
    memorySize,
    reservedConcurrency: reserved,
    logRetention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
    operatorPrincipalArns,
    runbookUrl,
    alarms,
  };
}

type Fail = (prop: string, problem: string) => never;

function checkEndpointUrl(value: unknown, fail: Fail): void {
  if (typeof value !== "string" || value === "") return fail("endpointUrl", "is required");
  if (Token.isUnresolved(value)) return;
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    return fail("endpointUrl", `must be an https URL, got ${JSON.stringify(value)}`);
  }
  if (parsed.protocol !== "https:") fail("endpointUrl", `must be an https URL, got ${JSON.stringify(value)}`);
  if (parsed.username || parsed.password) fail("endpointUrl", "must not contain credentials; they belong in the client secret");
}

/** Per-alarm settings: the enabled alarms, defaults merged with the props, each checked. */
function alarmSettings(props: TokenRefresherProps, dialect: TokenDialect, intervalS: number, windowS: number, fail: Fail): Partial<Record<AlarmKind, AlarmSettings>> {
  const result: Partial<Record<AlarmKind, AlarmSettings>> = {};
  for (const kind of Object.keys(ALARM_DEFAULTS) as AlarmKind[]) {
    const defaults = ALARM_DEFAULTS[kind];
    const options = props.alarms?.[kind] ?? {};
    if (options.enabled === false) continue;
    const prop = `alarms.${kind}`;
    if (kind === "refreshTokenTtl" && !usesRefreshToken(dialect)) {
      // Nothing to watch: the dialect's tokens come without a refresh token (README, "Alarms").
      if (props.alarms?.refreshTokenTtl !== undefined) fail(prop, `is not used by the ${dialect} dialect, which has no refresh token`);
      continue;
    }
    let threshold: number;
    if (kind === "accessTokenTtl") {
      const ttl = props.alarms?.accessTokenTtl?.threshold ?? DEFAULT_ACCESS_TOKEN_TTL_THRESHOLD;
      if (ttl.isUnresolved()) fail(`${prop}.threshold`, "must be a concrete duration, not a token");
      threshold = ttl.toSeconds();
      if (threshold <= 0 || threshold >= windowS) {
        fail(`${prop}.threshold`, `(${ttl.toHumanString()}) must be positive and shorter than refreshWindow (${Duration.seconds(windowS).toHumanString()}), or the alarm fires on healthy runs`);
      }
    } else if (kind === "refreshTokenTtl") {
      const ttl = props.alarms?.refreshTokenTtl?.threshold ?? DEFAULT_REFRESH_TOKEN_TTL_THRESHOLD;
      if (ttl.isUnresolved()) fail(`${prop}.threshold`, "must be a concrete duration, not a token");
      threshold = ttl.toSeconds();
      if (!Number.isInteger(threshold) || threshold <= 0) fail(`${prop}.threshold`, `must be a positive whole number of seconds, got ${ttl.toHumanString()}`);
    } else {
      threshold = (options as { threshold?: number }).threshold ?? 1;
      if (!Number.isFinite(threshold) || threshold <= 0) fail(`${prop}.threshold`, `must be a positive number, got ${JSON.stringify(threshold)}`);
    }
    const evaluationPeriods = options.evaluationPeriods ?? defaults.evaluationPeriods;
    const periodS = defaults.period === "schedule" ? intervalS : defaults.period.toSeconds();
    if (!Number.isInteger(evaluationPeriods) || evaluationPeriods < 1 || evaluationPeriods * periodS > MAX_EVALUATION_SECONDS) {
      fail(`${prop}.evaluationPeriods`, `must be a whole number >= 1 whose periods (${periodS} s each) span at most one day, got ${JSON.stringify(evaluationPeriods)}`);
    }
    const datapointsToAlarm = options.datapointsToAlarm ?? Math.min(defaults.datapointsToAlarm, evaluationPeriods);
    if (!Number.isInteger(datapointsToAlarm) || datapointsToAlarm < 1 || datapointsToAlarm > evaluationPeriods) {
      fail(`${prop}.datapointsToAlarm`, `must be a whole number from 1 to evaluationPeriods (${evaluationPeriods}), got ${JSON.stringify(datapointsToAlarm)}`);
    }
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
