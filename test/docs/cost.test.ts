// docs/cost.md's model rests on documented usage (bin/docs/cost/model.ts); this checks it against
// counted usage: a credential configured as the synthesized construct configures its function runs
// two hours of the schedule behind an AWS front, and a fleet credential is enqueued by the scheduler
// and run by the worker behind one; their calls, metrics and log lines must be what the page says.
// (The page's tables are checked for staleness in generated.test.ts.)
import { describe, expect } from "vitest";
import { DEDICATED_STACK, EMF_LINE_BYTES, HEALTHY_METRICS, RUN_CALLS, callUsage, documentedFleetUsage } from "../../bin/docs/cost/model.js";
import { renderCostPage } from "../../bin/docs/cost/page.js";
import { countScheduledRuns, functionMetricPolicy, stackFacts } from "../support/counted-day.js";
import { countFleetRefresh } from "../support/counted-fleet.js";
import { TICK_MS } from "../support/schedule.js";
import { fleetStack, refresherStack } from "../infra/support.js";
import { test } from "../protocol/front.js";

const HOURS = 2;

describe("the cost model's documented usage", () => {
  test(`matches ${HOURS} counted hours of a dedicated credential at the construct's defaults`, async ({ front }) => {
    const { template } = refresherStack();
    expect(stackFacts(template)).toEqual(DEDICATED_STACK);
    const counted = await countScheduledRuns(front, (HOURS * 3_600_000) / TICK_MS, functionMetricPolicy(template));

    const kinds = new Set(counted.runs.map((run) => run.outcome));
    expect(kinds).toEqual(new Set(["Refreshed", "Skipped"]));
    for (const [index, run] of counted.runs.entries()) {
      expect(run.calls, `run ${index} (${run.outcome})`).toEqual(run.outcome === "Refreshed" ? RUN_CALLS.refreshed : RUN_CALLS.skipped);
    }
    expect(counted.day.metricHours).toBe(HOURS * HEALTHY_METRICS);
    expect(Math.max(...counted.lineBytes.Skipped!)).toBeLessThanOrEqual(EMF_LINE_BYTES.skipped);
    expect(Math.max(...counted.lineBytes.Refreshed!)).toBeLessThanOrEqual(EMF_LINE_BYTES.refreshed);
  }, 120_000);

  test("matches a counted fleet refresh, an idle scheduler minute and the synthesized fleet's alarms", async ({ front }) => {
    const { usage, outcome } = await countFleetRefresh(front);
    const documented = documentedFleetUsage();
    expect(outcome).toBe("Refreshed");
    expect({ enqueue: usage.enqueue, worker: usage.worker, idleMinute: usage.idleMinute, metrics: usage.metrics }).toEqual({
      enqueue: documented.enqueue,
      worker: documented.worker,
      idleMinute: documented.idleMinute,
      metrics: documented.metrics,
    });
    expect(stackFacts(fleetStack().template).alarmMetrics).toBe(documented.alarmMetrics);
    expect(usage.workerLogBytes).toBeLessThanOrEqual(documented.workerLogBytes);
    expect(usage.minuteLogBytes).toBeLessThanOrEqual(documented.minuteLogBytes);
  }, 60_000);

  test("refuses a call it has no price for, rather than counting it as free", () => {
    expect(() => callUsage({ "secretsmanager:ListSecrets": 1 })).toThrow(/no price for the call secretsmanager:ListSecrets/);
    expect(callUsage({ "secretsmanager:GetSecretValue": 2 }, 3)).toEqual([
      { price: "secretsApiCalls", quantity: 6, what: "GetSecretValue" },
      { price: "kmsRequests", quantity: 6, what: "GetSecretValue" },
    ]);
  });

  test("renders only into the page's marked sections", () => {
    expect(() => renderCostPage("# Cost\n")).toThrow(/the markers of the generated section "prices" are missing/);
  });
});
