// The construct's metric policy (docs/cost.md): the function's environment asks the telemetry for only
// what the alarms read, and every alarm still sees a breaching datapoint wherever the detailed metrics
// (every metric on every run) gave it one, and none where they gave none.
import { Duration } from "aws-cdk-lib";
import type { Template } from "aws-cdk-lib/assertions";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { describe, expect, it } from "vitest";
import { Telemetry, type RefreshResult } from "../../lambda/telemetry/telemetry.js";
import type { TokenRefresherProps } from "../../infra/token-refresher/index.js";
import { functionMetricPolicy as policyOf } from "../support/counted-day.js";
import { refresherStack, resources } from "./support.js";

const DAY = 86_400;

describe("the metric policy in the function's environment", () => {
  it.each<[string, Partial<TokenRefresherProps>, { detailedMetrics: boolean; refreshTokenTtlReportBelowSeconds: number | undefined }]>([
    ["defaults: essential metrics, the refresh token reported below twice its 3-day threshold", {}, { detailedMetrics: false, refreshTokenTtlReportBelowSeconds: 6 * DAY }],
    ["a tuned RefreshTokenTtl threshold moves the horizon", { alarms: { refreshTokenTtl: { threshold: Duration.days(7) } } }, { detailedMetrics: false, refreshTokenTtlReportBelowSeconds: 14 * DAY }],
    ["a dashboard draws the run counts: detailed, the refresh token always reported", { dashboard: true }, { detailedMetrics: true, refreshTokenTtlReportBelowSeconds: undefined }],
    ["detailedMetrics wins over the dashboard", { dashboard: true, detailedMetrics: false }, { detailedMetrics: false, refreshTokenTtlReportBelowSeconds: 6 * DAY }],
    ["detailedMetrics without a dashboard", { detailedMetrics: true }, { detailedMetrics: true, refreshTokenTtlReportBelowSeconds: undefined }],
    ["no RefreshTokenTtl alarm: no horizon", { alarms: { refreshTokenTtl: { enabled: false } } }, { detailedMetrics: false, refreshTokenTtlReportBelowSeconds: undefined }],
    ["client_credentials has no refresh token: no horizon", { dialect: "client_credentials", endpointUrl: "https://auth.example.com" }, { detailedMetrics: false, refreshTokenTtlReportBelowSeconds: undefined }],
  ])("%s", (_case, props, { detailedMetrics, refreshTokenTtlReportBelowSeconds }) => {
    expect(policyOf(refresherStack(props).template)).toEqual({ detailedMetrics, ...(refreshTokenTtlReportBelowSeconds && { refreshTokenTtlReportBelowSeconds }) });
  });

  it("rejects a detailedMetrics that is not a boolean, naming the prop", () => {
    expect(() => refresherStack({ detailedMetrics: "yes" as unknown as boolean })).toThrow(/TokenRefresher Test\/Refresher: detailedMetrics must be true or false, got "yes"/);
  });
});

interface AlarmRule {
  readonly name: string;
  readonly metric: string;
  readonly threshold: number;
  readonly operator: string;
  readonly missingBreaches: boolean;
}

/** The alarms on the handler's own metrics, as the template defines them. */
function handlerAlarms(template: Template): AlarmRule[] {
  return resources(template, "AWS::CloudWatch::Alarm")
    .filter(([, alarm]) => alarm.Namespace === "TokenRefresher")
    .map(([, alarm]) => ({
      name: alarm.AlarmName as string,
      metric: alarm.MetricName as string,
      threshold: alarm.Threshold as number,
      operator: alarm.ComparisonOperator as string,
      missingBreaches: alarm.TreatMissingData === "breaching",
    }));
}

/** Whether one run's datapoint breaches the alarm: the declared value against the threshold, or the missing-data rule. */
function breaches(rule: AlarmRule, line: Record<string, unknown>): boolean {
  const directives = (line._aws as { CloudWatchMetrics: { Metrics: { Name: string }[] }[] }).CloudWatchMetrics;
  const declared = directives.some((directive) => directive.Metrics.some((metric) => metric.Name === rule.metric));
  if (!declared) return rule.missingBreaches;
  const value = line[rule.metric] as number;
  if (rule.operator === "GreaterThanOrEqualToThreshold") return value >= rule.threshold;
  if (rule.operator === "LessThanThreshold") return value < rule.threshold;
  throw new Error(`no evaluation for ${rule.operator}`);
}

const base: RefreshResult = { credential: "plant-a", outcome: "Refreshed", reason: "refreshed", apiCalls: 1, durationMs: 80, ttlSeconds: 3_600, refreshTokenTtlSeconds: 30 * DAY };
const failed = (outcome: RefreshResult["outcome"], extra: Partial<RefreshResult> = {}): RefreshResult => ({ ...base, outcome, reason: "PlatformError", errorKind: "rejected", ...extra });

/** Runs covering every alarm's breach and non-breach: healthy, each failure, the refresh token at each side of horizon and threshold, no token at all. */
const RUNS: readonly [string, RefreshResult][] = [
  ["refreshed", base],
  ["skipped, not due", { ...base, outcome: "Skipped", reason: "not-due", ttlSeconds: 1_800 }],
  ["refresh token inside the horizon, above the threshold", { ...base, outcome: "Skipped", reason: "not-due", refreshTokenTtlSeconds: 5 * DAY }],
  ["refresh token below the threshold", { ...base, refreshTokenTtlSeconds: 2 * DAY }],
  ["credential rejected", failed("CredentialRejected", { ttlSeconds: 500 })],
  ["app frozen", failed("AppFrozen", { ttlSeconds: 1_200 })],
  ["pair discarded", failed("PairDiscarded")],
  ["failed, nothing stored", failed("RefreshFailed", { ttlSeconds: undefined, refreshTokenTtlSeconds: undefined })],
];

describe("paging under the construct's metric policy", () => {
  it("every alarm on the handler's metrics breaches on exactly the runs it breached on with every metric sent", () => {
    const { template } = refresherStack();
    const runtime = { metricsNamespace: "TokenRefresher", eventBusName: "", ...policyOf(template) };
    const events = new EventBridgeClient({});
    const essential = Telemetry.forRuntime(runtime, events);
    const detailed = Telemetry.forRuntime({ ...runtime, detailedMetrics: true, refreshTokenTtlReportBelowSeconds: undefined }, events);
    const rules = handlerAlarms(template);
    expect(rules.map((rule) => rule.metric).sort()).toEqual(["AccessTokenTtl", "AppFrozen", "CredentialRejected", "PairDiscarded", "RefreshFailed", "RefreshTokenTtl"]);
    const now = new Date();
    const table = RUNS.map(([label, run]) => {
      const lines = [essential.emfLine(run, now), detailed.emfLine(run, now)];
      return [label, Object.fromEntries(rules.map((rule) => [rule.name, lines.map((line) => breaches(rule, line))]))] as const;
    });
    for (const [label, byAlarm] of table) {
      for (const [alarm, [withPolicy, withEverything]] of Object.entries(byAlarm)) expect(withPolicy, `${label}: ${alarm}`).toBe(withEverything);
    }
    // The comparison can fail: every alarm breaches on some run and not on another.
    for (const rule of rules) {
      const outcomes = new Set(table.map(([, byAlarm]) => byAlarm[rule.name]![0]));
      expect(outcomes, rule.name).toEqual(new Set([true, false]));
    }
    // And the policy saves: a healthy run declares one metric, not eight.
    const count = (line: Record<string, unknown>) => (line._aws as { CloudWatchMetrics: { Metrics: unknown[] }[] }).CloudWatchMetrics.flatMap((d) => d.Metrics).length;
    expect([count(essential.emfLine(base, now)), count(detailed.emfLine(base, now))]).toEqual([1, 9]);
  });
});
