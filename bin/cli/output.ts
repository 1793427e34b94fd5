import { cleanText } from "../../lambda/redaction.js";
import type { CliError, ExitCode } from "./errors.js";
import type { CliIo } from "./io.js";

/**
 * What one command prints. As text: lines as the command goes, failures as `error:`/`hint:` lines
 * on stderr. With --json: nothing until the end, then exactly one JSON document on stdout — the
 * command's facts, or on failure `{"error": {"kind", "message", "hint", …}}` with the facts the
 * command gathered before it failed (docs/cli.md, "Exit codes"). Never a token: the facts are the commands' own.
 */
export class Output {
  private readonly facts: Record<string, unknown> = {};

  constructor(
    private readonly io: CliIo,
    readonly json: boolean,
  ) {}

  /** A step done: its line now (text), its fact in the document under `key` (JSON). */
  step(key: string, fact: unknown, line: string): void {
    this.facts[key] = fact;
    this.text(line);
  }

  /** A line only a person reading along needs (JSON: nothing). */
  text(line: string): void {
    if (!this.json) this.io.stdout(line);
  }

  /** The command's result: `document` (with the steps' facts) as JSON, else `text`; a hint goes to stderr as text. */
  done(document: object, text: string, hint?: string): void {
    if (this.json) {
      this.io.stdout(`${JSON.stringify({ ...this.facts, ...document, ...(hint && { hint }) }, null, 2)}\n`);
      return;
    }
    this.io.stdout(text);
    if (hint) this.io.stderr(`hint: ${hint}\n`);
  }

  /** A failure the command could not turn into a result; returns its exit code. */
  fail(error: CliError): ExitCode {
    if (this.json) {
      const body = { kind: error.kind, message: error.message, hint: error.hint ?? null, ...error.details };
      this.io.stdout(`${JSON.stringify({ ...this.facts, error: body, exitCode: error.exitCode }, null, 2)}\n`);
    } else {
      this.io.stderr(`error: ${error.message}\n`);
      if (error.hint) this.io.stderr(`hint: ${error.hint}\n`);
    }
    return error.exitCode;
  }
}

/** The `error` object of a document whose run failed: the same shape as a thrown failure's. */
export function errorFact(kind: string, message: string | undefined, hint: string | undefined): Record<string, unknown> {
  return { kind, message: cleanText(message) ?? kind, hint: hint ?? null };
}
