import { Duration, Stack } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import type { Construct } from "constructs";

/** The metrics and alarms one credential's widgets show. */
export interface DashboardInputs {
  readonly credentialName: string;
  readonly accessTokenTtl: cloudwatch.IMetric;
  readonly ttlThreshold?: Duration;
  /** Seconds left on the refresh token, when its expiry is known; absent for a dialect without refresh tokens (no row). */
  readonly refreshTokenTtl?: cloudwatch.IMetric;
  readonly refreshTokenTtlThreshold?: Duration;
  /** Outcome name → run count metric. */
  readonly outcomes: Record<string, cloudwatch.Metric>;
  readonly duration: cloudwatch.Metric;
  readonly alarms: readonly cloudwatch.IAlarm[];
}

/**
 * One row per concern: how long consumers are safe and what the runs did; how long they took and the
 * alarms; how long until the refresh token must be renewed.
 */
export function dashboardWidgets(inputs: DashboardInputs): cloudwatch.IWidget[][] {
  const name = inputs.credentialName;
  const ttl = new cloudwatch.GraphWidget({
    title: `${name}: access token TTL (s, minimum)`,
    left: [inputs.accessTokenTtl],
    leftAnnotations: inputs.ttlThreshold ? [{ value: inputs.ttlThreshold.toSeconds(), label: "AccessTokenTtl alarm", color: cloudwatch.Color.RED }] : [],
    leftYAxis: { min: 0 },
    width: 12,
  });
  const outcomes = new cloudwatch.GraphWidget({
    title: `${name}: run outcomes (count)`,
    left: Object.entries(inputs.outcomes).map(([label, metric]) => metric.with({ label })),
    stacked: true,
    leftYAxis: { min: 0 },
    width: 12,
  });
  const duration = new cloudwatch.GraphWidget({
    title: `${name}: run duration (ms)`,
    left: [inputs.duration.with({ statistic: "p50", label: "p50" }), inputs.duration.with({ statistic: "p99", label: "p99" }), inputs.duration.with({ statistic: "Maximum", label: "max" })],
    leftYAxis: { min: 0 },
    width: 12,
  });
  // An alarm status widget needs at least one alarm; with every alarm switched off there is none.
  const alarms = inputs.alarms.length > 0 ? [new cloudwatch.AlarmStatusWidget({ title: `${name}: alarms`, alarms: [...inputs.alarms], width: 12 })] : [];
  const rows: cloudwatch.IWidget[][] = [
    [ttl, outcomes],
    [duration, ...alarms],
  ];
  if (inputs.refreshTokenTtl) {
    const refreshTokenTtl = new cloudwatch.GraphWidget({
      title: `${name}: refresh token TTL (s, minimum; only when its expiry is known)`,
      left: [inputs.refreshTokenTtl],
      leftAnnotations: inputs.refreshTokenTtlThreshold
        ? [{ value: inputs.refreshTokenTtlThreshold.toSeconds(), label: "RefreshTokenTtl alarm", color: cloudwatch.Color.RED }]
        : [],
      leftYAxis: { min: 0 },
      width: 12,
    });
    rows.push([refreshTokenTtl]);
  }
  return rows;
}

/** A dashboard of one credential, named `<stack>-<credential>-<region>` (dashboard names are global to the account). */
export function addDashboard(scope: Construct, inputs: DashboardInputs): cloudwatch.Dashboard {
  return new cloudwatch.Dashboard(scope, "Dashboard", {
    dashboardName: `${Stack.of(scope).stackName}-${inputs.credentialName.replace(/\./g, "_")}-${Stack.of(scope).region}`,
    defaultInterval: Duration.days(1),
    widgets: dashboardWidgets(inputs),
  });
}
