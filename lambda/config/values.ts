// The kinds of value a setting can hold, how each is checked and how it is read from text (an
// environment variable, a CLI flag). The settings table (./table.ts) gives every setting one kind;
// the problems say what is wrong without naming the setting, so each front (environment, construct
// prop, JSON config field, CLI flag) names it its own way (docs/configuration.md).

/** Units of whole-number settings; durations are kept in seconds or milliseconds. */
export type Unit = "s" | "ms" | "MB" | "count";

export type ValueKind =
  | { readonly kind: "text"; readonly pattern: RegExp; readonly what: string }
  | { readonly kind: "integer"; readonly min: number; readonly max: number; readonly unit: Unit; readonly multipleOf?: number }
  | { readonly kind: "choice"; readonly values: readonly (string | number)[] }
  | { readonly kind: "https-url" }
  | { readonly kind: "boolean" }
  | { readonly kind: "list"; readonly item: { readonly pattern: RegExp; readonly what: string } }
  /** A rule of its own (e.g. IAM principal patterns), for what a pattern cannot say. */
  | { readonly kind: "rule"; readonly what: string; readonly problem: (value: unknown) => string | undefined };

export type SettingValue = string | number | boolean | readonly string[];

/** `90` → "90 seconds", `900` → "15 minutes", `86400` → "1 day", `0.1` → "100 ms". */
export function humanDuration(seconds: number): string {
  const units: [number, string][] = [
    [86_400, "day"],
    [3_600, "hour"],
    [60, "minute"],
    [1, "second"],
  ];
  for (const [size, name] of units) {
    if (seconds >= size && seconds % size === 0) {
      const count = seconds / size;
      return `${count} ${name}${count === 1 ? "" : "s"}`;
    }
  }
  return `${Math.round(seconds * 1000)} ms`;
}

/** A whole-number amount in its unit, for messages: durations in words, the rest with their unit. */
export function humanAmount(value: number, unit: Unit): string {
  if (unit === "s") return humanDuration(value);
  if (unit === "ms") return humanDuration(value / 1000);
  return unit === "MB" ? `${value} MB` : String(value);
}

/** Why `value` is not a valid value of `kind`, or undefined when it is. Never repeats the value: the front adds what it got. */
export function valueProblem(kind: ValueKind, value: unknown): string | undefined {
  switch (kind.kind) {
    case "text":
      return typeof value === "string" && kind.pattern.test(value) ? undefined : `must be ${kind.what}`;
    case "integer": {
      if (typeof value !== "number" || !Number.isInteger(value)) return "must be a whole number";
      if (value < kind.min || value > kind.max) return `must be between ${humanAmount(kind.min, kind.unit)} and ${humanAmount(kind.max, kind.unit)}`;
      if (kind.multipleOf && value % kind.multipleOf !== 0) return `must be a whole number of ${humanAmount(kind.multipleOf, kind.unit).replace(/^1 /, "")}s`;
      return undefined;
    }
    case "choice":
      return kind.values.includes(value as string | number) ? undefined : `must be one of ${kind.values.join(", ")}`;
    case "https-url":
      return httpsUrlProblem(value);
    case "boolean":
      return typeof value === "boolean" ? undefined : "must be true or false";
    case "list":
      return Array.isArray(value) && value.every((item) => typeof item === "string" && kind.item.pattern.test(item))
        ? undefined
        : `must be a list of ${kind.item.what}`;
    case "rule":
      return kind.problem(value);
  }
}

function httpsUrlProblem(value: unknown): string | undefined {
  if (typeof value !== "string") return "must be an https URL";
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "must be an https URL";
  }
  if (url.protocol !== "https:") return "must be an https URL";
  if (url.username || url.password) return "must not contain credentials (they belong in the client secret)";
  return undefined;
}

/** What text (an environment variable, a flag) means for `kind`: the value, or why it has none. */
export function parseText(kind: ValueKind, text: string): { readonly value: SettingValue } | { readonly problem: string } {
  switch (kind.kind) {
    case "integer":
      return /^\d+$/.test(text) ? { value: Number(text) } : { problem: "must be a whole number" };
    case "boolean":
      return text === "true" || text === "false" ? { value: text === "true" } : { problem: "must be true or false" };
    case "choice": {
      const match = kind.values.find((candidate) => String(candidate) === text);
      return match === undefined ? { problem: `must be one of ${kind.values.join(", ")}` } : { value: match };
    }
    case "list":
    case "rule":
      return { value: text.split(",").map((item) => item.trim()).filter(Boolean) };
    case "https-url":
      // A trailing slash would double the one the dialects put before their paths.
      return { value: text.replace(/\/+$/, "") };
    case "text":
      return { value: text };
  }
}

/** The text form of a value, as parseText reads it back. */
export function formatText(value: SettingValue): string {
  return Array.isArray(value) ? value.join(",") : String(value);
}
