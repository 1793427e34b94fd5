import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import type { Duration } from "aws-cdk-lib";
import { DIMENSION } from "../../lambda/telemetry/names.js";

/** Where a refresher's metrics live: its namespace, its `Credential` dimension and its schedule interval. */
export interface MetricSource {
  readonly metricsNamespace: string;
  readonly credentialName: string;
  readonly scheduleInterval: Duration;
}

/**
 * A metric the handler emits: Sum per schedule interval unless `props` says otherwise. The namespace
 * and the `Credential` dimension are always the handler's: callers can change statistic and period only.
 */
export function refresherMetric(source: MetricSource, metricName: string, props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
  return new cloudwatch.Metric({
    statistic: cloudwatch.Stats.SUM,
    period: source.scheduleInterval,
    ...props,
    namespace: source.metricsNamespace,
    metricName,
    dimensionsMap: { [DIMENSION]: source.credentialName },
  });
}
