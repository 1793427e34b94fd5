import { afterAll, expect } from "vitest";

/**
 * Spec: no token, secret or key ever appears in a log line. Every test file's stdout, stderr and
 * console output is recorded here; fixtures register each token, secret and key they create, and
 * after the file's tests the record must contain none of them.
 */
const sensitive = new Set<string>();
const output: string[] = [];

export function registerSensitive(...values: (string | undefined)[]): void {
  for (const value of values) if (value && value.length >= 8) sensitive.add(value);
}

/**
 * The forms in which a value can be printed: raw, URL-encoded (either hex case), form-encoded, and
 * JSON-escaped once or twice (a JSON text quoted inside a JSON log line). Written here independently
 * of lambda/redaction.ts, so the guard does not share the product's blind spots. A PEM value's
 * base64 lines count on their own: a partial quote of a key is a leak too.
 */
function printedForms(value: string): [form: string, text: string][] {
  const json = (text: string) => JSON.stringify(text).slice(1, -1);
  const forms: [string, string][] = [
    ["raw", value],
    ["url-encoded", encodeURIComponent(value)],
    ["url-encoded", encodeURIComponent(value).replace(/%[0-9A-F]{2}/g, (escape) => escape.toLowerCase())],
    ["form-encoded", new URLSearchParams({ v: value }).toString().slice(2)],
    ["JSON-escaped", json(value)],
    ["JSON-escaped twice", json(json(value))],
  ];
  if (value.includes("-----BEGIN ")) {
    for (const line of value.split("\n")) if (line.length >= 8 && !line.startsWith("-----")) forms.push(["PEM line", line]);
  }
  return forms;
}

/** Lets a test check text it captured itself (error messages, CLI output) against the registry. */
export function leakedSecrets(text: string): string[] {
  const leaks: string[] = [];
  for (const value of sensitive) {
    const found = printedForms(value).find(([, form]) => text.includes(form));
    if (found) leaks.push(`${value.slice(0, 4)}…(${value.length} chars${found[0] === "raw" ? "" : `, ${found[0]}`})`);
  }
  return leaks;
}

/** Output a test captured instead of printing (e.g. telemetry lines), checked like stdout. */
export function recordOutput(text: string): void {
  output.push(text);
}

function tee(stream: NodeJS.WriteStream): void {
  const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
  const teeWrite = (chunk: unknown, ...rest: unknown[]): boolean => {
    output.push(typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString("utf8"));
    return write(chunk, ...rest);
  };
  stream.write = teeWrite;
}

export function installLeakGuard(): void {
  tee(process.stdout);
  tee(process.stderr);
  for (const method of ["log", "info", "warn", "error", "debug"] as const) {
    const original = console[method].bind(console);
    console[method] = (...args: unknown[]) => {
      output.push(args.map((arg) => (typeof arg === "string" ? arg : JSON.stringify(arg) ?? String(arg))).join(" "));
      original(...args);
    };
  }
  afterAll(() => {
    expect(leakedSecrets(output.join("\n")), "secrets found in this file's stdout/stderr/console").toEqual([]);
  });
}
