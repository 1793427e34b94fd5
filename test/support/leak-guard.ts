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

/** Lets a test check text it captured itself (error messages, CLI output) against the registry. */
export function leakedSecrets(text: string): string[] {
  return [...sensitive].filter((value) => text.includes(value)).map((value) => `${value.slice(0, 4)}…(${value.length} chars)`);
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
