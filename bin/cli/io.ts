import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import type { GetFunctionConfigurationCommand } from "@aws-sdk/client-lambda";
import type { DialectFactory } from "../../lambda/dialects/index.js";
import { terminalSafe } from "../../lambda/redaction.js";

export type Env = Readonly<Record<string, string | undefined>>;

/** Everything the CLI touches outside itself, so `main` can run in-process in tests. */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** The whole of standard input, for `--client-secret-file -` / `--refresh-token-file -`. */
  readonly readStdin: () => Promise<string>;
  readonly env: Env;
  /** Working directory relative file paths are resolved against. */
  readonly cwd: string;
  readonly now?: () => number;
  /** Test seams: the SDK clients and the dialect factory (default: built from `env`). */
  readonly secrets?: SecretsManagerClient;
  readonly events?: EventBridgeClient;
  readonly createDialect?: DialectFactory;
  /** For `--function`: reads the deployed function's configuration. */
  readonly lambda?: { send(command: GetFunctionConfigurationCommand): Promise<{ Environment?: { Variables?: Record<string, string> } }> };
}

/**
 * The real terminal. Whatever a command prints passes `terminalSafe` last (docs/security.md, "Beyond
 * IAM"): no escape sequence or bidi override reaches the terminal, whatever path the text took.
 */
export function processIo(): CliIo {
  return {
    stdout: (text) => process.stdout.write(terminalSafe(text)),
    stderr: (text) => process.stderr.write(terminalSafe(text)),
    readStdin: async () => {
      if (process.stdin.isTTY) {
        process.stderr.write("reading from standard input; end with Ctrl-D\n");
      }
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer));
      return Buffer.concat(chunks).toString("utf8");
    },
    env: process.env,
    cwd: process.cwd(),
  };
}
