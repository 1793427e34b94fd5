import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { loadConfig } from "./config.js";
import { runRefresh } from "./refresh/workflow.js";
import { Telemetry, type RefreshResult } from "./telemetry/telemetry.js";

// Built once per execution environment; a bad configuration fails the cold start with its reason.
const config = loadConfig();
const secrets = new SecretsManagerClient({});
const telemetry = new Telemetry({
  namespace: config.metricsNamespace,
  eventBusName: config.eventBusName,
  events: new EventBridgeClient({}),
});

/** EventBridge schedule target; `{"force": true}` refreshes even when the token is not due. */
export const handler = (event: unknown): Promise<RefreshResult> => runRefresh({ config, secrets, telemetry }, event);
