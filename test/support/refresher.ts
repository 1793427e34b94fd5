import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { createAwsClients } from "../../lambda/aws-clients.js";
import { AwsClock } from "../../lambda/clock.js";
import type { RefresherConfig } from "../../lambda/config.js";
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
  config: RefresherConfig,
  telemetryFor: (events: EventBridgeClient) => Telemetry,
  options: RunnerOptions & Pick<RefreshDeps, "retryPolicy" | "createDialect"> = {},
): RefreshDeps {
  const clock = new AwsClock(options.localNow);
  const clients = createAwsClients(config.awsRequestTimeoutMs, clock, options.endpoint ? { endpoint: options.endpoint } : {});
  return {
    config,
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

/** The Lambda environment variables that configure a run as `config` does (lambda/config.ts reads them). */
export function lambdaEnvironment(config: RefresherConfig): Record<string, string> {
  return {
    CREDENTIAL_NAME: config.credentialName,
    TOKEN_DIALECT: config.dialect,
    CLIENT_SECRET_ID: config.clientSecretId,
    TOKEN_SECRET_ID: config.tokenSecretId,
    STATE_TABLE_NAME: config.stateTableName,
    ENDPOINT_URL: config.endpointUrl,
    OAUTH2_TOKEN_PATH: config.oauth2TokenPath,
    DEFAULT_EXPIRES_IN_SECONDS: String(config.defaultExpiresInSeconds),
    REFRESH_WINDOW_SECONDS: String(config.refreshWindowSeconds),
    HTTP_TIMEOUT_MS: String(config.httpTimeoutMs),
    RUN_BUDGET_MS: String(config.runBudgetMs),
    LEASE_SECONDS: String(config.leaseSeconds),
    AWS_REQUEST_TIMEOUT_MS: String(config.awsRequestTimeoutMs),
    METRICS_NAMESPACE: config.metricsNamespace,
    EVENT_BUS_NAME: config.eventBusName,
  };
}
