// What one dedicated credential costs, counted (docs/cost.md): a credential configured as the synthesized
// construct configures its function, run on the compressed schedule behind an AWS front that logs every
// call; shared by `npm run bench` (test/bench/cost.ts) and test/docs/cost.test.ts.
import type { Template } from "aws-cdk-lib/assertions";
import { readSettings } from "../../lambda/config/index.js";
import type { RunOutcome } from "../../lambda/telemetry/telemetry.js";
import { addCalls, type CallCounts, type DedicatedDay, type StackFacts } from "../../bin/docs/cost/model.js";
import type { AwsFront } from "./aws-front.js";
import { IotFixture } from "./iot-fixture.js";
import { TICK_MS } from "./schedule.js";

/** The metric policy a synthesized function runs with, read back by the handler's own parser. */
export function functionMetricPolicy(template: Template): { detailedMetrics: boolean; refreshTokenTtlReportBelowSeconds?: number } {
  const [fn] = Object.values(template.findResources("AWS::Lambda::Function")) as { Properties: { Environment: { Variables: Record<string, unknown> } } }[];
  const text = Object.fromEntries(Object.entries(fn!.Properties.Environment.Variables).filter((entry): entry is [string, string] => typeof entry[1] === "string"));
  const { detailedMetrics, refreshTokenTtlReportBelowSeconds } = readSettings(text, ["detailedMetrics", "refreshTokenTtlReportBelowSeconds"]);
  return { detailedMetrics: detailedMetrics as boolean, ...(refreshTokenTtlReportBelowSeconds !== undefined && { refreshTokenTtlReportBelowSeconds: refreshTokenTtlReportBelowSeconds as number }) };
}

/** The alarms and secrets a synthesized stack bills every month. */
export function stackFacts(template: Template): StackFacts {
  const alarms = Object.values(template.findResources("AWS::CloudWatch::Alarm")) as { Properties: { MetricName?: string; Metrics?: { MetricStat?: unknown }[] } }[];
  const alarmMetrics = alarms.reduce((sum, { Properties: alarm }) => sum + (alarm.MetricName ? 1 : (alarm.Metrics ?? []).filter((query) => query.MetricStat).length), 0);
  return { alarmMetrics, secrets: Object.keys(template.findResources("AWS::SecretsManager::Secret")).length };
}

/** The calls `front` logged since its last reset, by `<service>:<Operation>`. */
export const frontCalls = (front: AwsFront): CallCounts => addCalls(...front.calls().map((call) => [{ [`${call.service}:${call.operation}`]: 1 }, 1] as const));

/** The metrics an EMF line declares, each as `namespace/name/dimension=value,…` (CloudWatch bills each such metric per hour it is sent). */
export function declaredMetrics(line: Readonly<Record<string, unknown>>): string[] {
  const aws = line._aws as { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] };
  return aws.CloudWatchMetrics.flatMap((directive) =>
    directive.Metrics.map((metric) => `${directive.Namespace}/${metric.Name}/${directive.Dimensions.flat().map((name) => `${name}=${String(line[name])}`).join(",")}`),
  );
}

export interface CountedRun {
  readonly outcome: RunOutcome;
  readonly calls: CallCounts;
}

export interface CountedDay {
  readonly day: DedicatedDay;
  readonly runs: readonly CountedRun[];
  /** Bytes of each run's EMF line, by outcome. */
  readonly lineBytes: Readonly<Record<string, number[]>>;
}

/**
 * Runs `ticks` schedule ticks of a credential that is due now, configured with `policy` and the
 * default event bus, and counts what each run called through `front`, the distinct metrics each hour
 * of ticks declared (CloudWatch bills a metric for every hour it is sent) and the bytes written.
 */
export async function countScheduledRuns(front: AwsFront, ticks: number, policy: ReturnType<typeof functionMetricPolicy>): Promise<CountedDay> {
  const fixture = await IotFixture.start({ platform: { now: () => front.clock.now() }, config: { ...policy, eventBusName: "default" } });
  try {
    await fixture.seed(60);
    fixture.platform.reset();
    front.reset();
    const runs: CountedRun[] = [];
    for (let tick = 0; tick < ticks; tick++) {
      front.clock.advance(TICK_MS);
      const { outcome } = await fixture.run({ endpoint: front.endpoint });
      runs.push({ outcome, calls: frontCalls(front) });
      front.reset();
    }
    const { lines, raw } = fixture.telemetry;
    const hours = new Map<number, Set<string>>();
    const lineBytes: Record<string, number[]> = {};
    lines.forEach((line, index) => {
      // One line per tick: the hour of ticks it belongs to.
      const hour = Math.floor((index * TICK_MS) / 3_600_000);
      const declared = hours.get(hour) ?? new Set<string>();
      for (const metric of declaredMetrics(line)) declared.add(metric);
      hours.set(hour, declared);
      (lineBytes[String(line.outcome)] ??= []).push(Buffer.byteLength(raw[index]!));
    });
    return {
      day: {
        invocations: ticks,
        calls: addCalls(...runs.map((run) => [run.calls, 1] as const)),
        metricHours: [...hours.values()].reduce((sum, declared) => sum + declared.size, 0),
        logBytes: raw.reduce((sum, line) => sum + Buffer.byteLength(line), 0),
      },
      runs,
      lineBytes,
    };
  } finally {
    await fixture.close();
  }
}
