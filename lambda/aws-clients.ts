import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { AwsClock } from "./clock.js";

/** Connection setup gets a fixed second; the request itself the configured timeout. */
const CONNECTION_TIMEOUT_MS = 1_000;

/** Region, credentials and endpoint come from the environment (Lambda's, or the CLI's). */
export interface AwsClientSettings {
  readonly region?: string;
  readonly endpoint?: string;
  /** Static credentials, e.g. an assumed role's session (a fleet worker's run); default: the environment's. */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string };
}

export interface AwsClients {
  readonly secrets: SecretsManagerClient;
  readonly dynamodb: DynamoDBClient;
  readonly events: EventBridgeClient;
}

/** The options every client of the refresher (and of a fleet's functions) is built with: `settings`, two attempts, the timeouts. */
export function awsClientOptions(requestTimeoutMs: number, settings: AwsClientSettings = {}) {
  return {
    ...settings,
    maxAttempts: 2,
    requestHandler: { connectionTimeout: CONNECTION_TIMEOUT_MS, requestTimeout: requestTimeoutMs, throwOnRequestTimeout: true },
  };
}

/**
 * The refresher's AWS clients, each with connection and request timeouts so that no hung call
 * outlasts the run (see docs/design.md, "Timeouts"). `throwOnRequestTimeout`: without it the
 * SDK's HTTP handler only logs a warning when the timeout passes and goes on waiting. Two SDK
 * attempts per call: the write protocol retries further within the invocation's remaining time.
 * Secrets Manager and DynamoDB answers correct `clock`; EventBridge's are not needed for it.
 */
export function createAwsClients(requestTimeoutMs: number, clock: AwsClock, settings: AwsClientSettings = {}): AwsClients {
  const options = awsClientOptions(requestTimeoutMs, settings);
  return {
    secrets: clock.watch(new SecretsManagerClient(options)),
    dynamodb: clock.watch(new DynamoDBClient(options)),
    events: new EventBridgeClient(options),
  };
}
