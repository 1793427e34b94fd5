import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { createAwsClients } from "../../lambda/aws-clients.js";
import { AwsClock } from "../../lambda/clock.js";
import { functionEnvironment, type RefresherConfig } from "../../lambda/config/index.js";
import type { RefreshDeps } from "../../lambda/refresh/workflow.js";
import { createStateTable as createTable } from "../../bin/local/state-table.js";
import type { Telemetry } from "../../lambda/telemetry/telemetry.js";
import { uniqueName } from "./aws.js";

/** A state table of the test's own, uniquely named unless `name` is given. */
export const createStateTable = (name = uniqueName("state"), dynamodb = new DynamoDBClient({})): Promise<string> => createTable(name, dynamodb);

/** How a test run differs from a Lambda invocation on a host with a good clock. */
export interface RunnerOptions {
  /** The host's clock (skewed hosts). */
  readonly localNow?: () => number;
  /** An AWS endpoint other than the suite's (a test file's own front). */
  readonly endpoint?: string;
  /** A Secrets Manager client with test middleware (it is watched by the run's clock). */
  readonly secrets?: SecretsManagerClient;
  readonly invocation?: RefreshDeps["invocation"];
  readonly runId?: string;
}

/** The dependencies a run gets in Lambda, built the same way (lambda/aws-clients.ts), with a fresh clock per run as on a new host. */
export function refresherDeps(
  { runtime }: Pick<RefresherConfig, "runtime">,
  telemetryFor: (events: EventBridgeClient) => Telemetry,
  options: RunnerOptions & Pick<RefreshDeps, "retryPolicy" | "createDialect"> = {},
): RefreshDeps {
  const clock = new AwsClock(options.localNow);
  const clients = createAwsClients(runtime.awsRequestTimeoutMs, clock, options.endpoint ? { endpoint: options.endpoint } : {});
  return {
    runtime,
    secrets: options.secrets ? clock.watch(options.secrets) : clients.secrets,
    dynamodb: clients.dynamodb,
    clock,
    telemetry: telemetryFor(clients.events),
    ...(options.localNow && { localNow: options.localNow }),
    ...(options.invocation && { invocation: options.invocation }),
    ...(options.runId && { runId: options.runId }),
    ...(options.retryPolicy && { retryPolicy: options.retryPolicy }),
    ...(options.createDialect && { createDialect: options.createDialect }),
  };
}

/** The Lambda environment that configures a run as `config` does: what the construct writes (lambda/config). */
export function lambdaEnvironment({ credential, runtime }: RefresherConfig): Record<string, string> {
  return functionEnvironment(credential, runtime);
}
