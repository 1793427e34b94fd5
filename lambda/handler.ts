import type { Context } from "aws-lambda";
import { createAwsClients } from "./aws-clients.js";
import { AwsClock } from "./clock.js";
import { loadConfig } from "./config/index.js";
import { runRefresh } from "./refresh/workflow.js";
import { Telemetry, type RefreshResult } from "./telemetry/telemetry.js";

// Built once per execution environment; a bad configuration fails the cold start with its reason.
const { credential, runtime } = loadConfig();
const clock = new AwsClock();
const { secrets, dynamodb, events } = createAwsClients(runtime.awsRequestTimeoutMs, clock);
const telemetry = new Telemetry({ namespace: runtime.metricsNamespace, eventBusName: runtime.eventBusName, events });
let coldStart = true;

/** EventBridge schedule target; `{"force": true}` refreshes even when the token is not due. */
export const handler = (event: unknown, context?: Pick<Context, "awsRequestId" | "getRemainingTimeInMillis">): Promise<RefreshResult> => {
  const invocation = {
    coldStart,
    ...(context && { requestId: context.awsRequestId, endsAt: Date.now() + context.getRemainingTimeInMillis() }),
  };
  coldStart = false;
  return runRefresh({ runtime, secrets, dynamodb, clock, telemetry, invocation }, credential, event);
};
