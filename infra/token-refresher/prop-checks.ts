import { Token, type Duration } from "aws-cdk-lib";
import type { SettingValues } from "../../lambda/config/rules.js";
import type { SettingField } from "../../lambda/config/table.js";

/** Fails the construct with `<prop> <problem>` (each construct adds its name and path). */
export type Fail = (prop: string, problem: string) => never;

/**
 * Collects a construct's props as setting values in canonical units (durations in seconds or ms),
 * with how each was given, for errors (`got 30 seconds`). `concrete` refuses a token where the
 * construct needs the value at synth; `duration` refuses a token duration.
 */
export function propReader(fail: Fail) {
  const values: Record<string, unknown> = {};
  const shown = new Map<SettingField, string>();
  const set = (field: SettingField, value: unknown, display = JSON.stringify(value)) => {
    if (value === undefined) return;
    values[field] = value;
    shown.set(field, display);
  };
  const concrete = (prop: string, value: unknown) => {
    if (Token.isUnresolved(value)) fail(prop, "must be known at synth, not a token");
    return value;
  };
  const duration = (field: SettingField, prop: string, value: Duration | undefined, unit: "s" | "ms") => {
    if (value === undefined) return;
    if (value.isUnresolved()) fail(prop, "must be a concrete duration, not a token");
    set(field, unit === "s" ? value.toSeconds({ integral: false }) : value.toMilliseconds({ integral: false }), value.toHumanString());
  };
  return { values: values as SettingValues, shown, set, concrete, duration };
}

/** CloudWatch evaluates at most one day of periods. */
export const ONE_DAY_WINDOW = { seconds: 86_400, text: "one day" } as const;

/**
 * An alarm's evaluation periods and datapoints, from its options or defaults, checked: whole
 * numbers, datapoints within the periods, and the periods within `window`.
 */
export function alarmEvaluation(
  prop: string,
  options: { readonly evaluationPeriods?: number; readonly datapointsToAlarm?: number },
  defaults: { readonly evaluationPeriods: number; readonly datapointsToAlarm: number },
  periodS: number,
  fail: Fail,
  window: { readonly seconds: number; readonly text: string } = ONE_DAY_WINDOW,
): { evaluationPeriods: number; datapointsToAlarm: number } {
  const evaluationPeriods = options.evaluationPeriods ?? defaults.evaluationPeriods;
  if (!Number.isInteger(evaluationPeriods) || evaluationPeriods < 1 || evaluationPeriods * periodS > window.seconds) {
    fail(`${prop}.evaluationPeriods`, `must be a whole number >= 1 whose periods (${periodS} s each) span at most ${window.text}, got ${JSON.stringify(evaluationPeriods)}`);
  }
  const datapointsToAlarm = options.datapointsToAlarm ?? Math.min(defaults.datapointsToAlarm, evaluationPeriods);
  if (!Number.isInteger(datapointsToAlarm) || datapointsToAlarm < 1 || datapointsToAlarm > evaluationPeriods) {
    fail(`${prop}.datapointsToAlarm`, `must be a whole number from 1 to evaluationPeriods (${evaluationPeriods}), got ${JSON.stringify(datapointsToAlarm)}`);
  }
  return { evaluationPeriods, datapointsToAlarm };
}

/** A count alarm's threshold, checked. */
export function positiveThreshold(prop: string, threshold: number, fail: Fail): number {
  if (!Number.isFinite(threshold) || threshold <= 0) fail(`${prop}.threshold`, `must be a positive number, got ${JSON.stringify(threshold)}`);
  return threshold;
}
