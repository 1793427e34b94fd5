import { main } from "../../bin/cli/main.js";
import type { CliIo } from "../../bin/cli/io.js";
import { recordOutput } from "../support/leak-guard.js";

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliRunOptions {
  /** Variables on top of the test process's environment (which points the AWS SDK at moto). */
  readonly env?: Record<string, string | undefined>;
  readonly stdin?: string;
  readonly io?: Partial<CliIo>;
}

/** Runs the CLI in-process through `main(argv, io)`, capturing its output (also fed to the leak guard). */
export async function runCli(argv: readonly string[], options: CliRunOptions = {}): Promise<CliRun> {
  let stdout = "";
  let stderr = "";
  const io: CliIo = {
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    readStdin: () => Promise.resolve(options.stdin ?? ""),
    env: { ...process.env, EVENT_BUS_NAME: "", ...options.env },
    cwd: process.cwd(),
    ...options.io,
  };
  const code = await main(argv, io);
  recordOutput(stdout);
  recordOutput(stderr);
  return { code, stdout, stderr };
}
