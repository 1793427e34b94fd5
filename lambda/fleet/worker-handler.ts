import { STSClient } from "@aws-sdk/client-sts";
import type { Context, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { awsClientOptions } from "../aws-clients.js";
import { AwsClock } from "../clock.js";
import { loadFleetConfig } from "../config/index.js";
import { FleetWorker } from "./worker.js";

// Built once per execution environment; a bad configuration fails the cold start with its reason.
const { fleet, runtime } = loadFleetConfig(["runRoleArn"]);
const clock = new AwsClock();
// The worker's own credentials reach only STS; every run uses its session's.
const worker = new FleetWorker({ fleet, runtime, clock, sts: new STSClient(awsClientOptions(runtime.awsRequestTimeoutMs)) });
let coldStart = true;

/** The work queue's event source (ReportBatchItemFailures): one refresh run per message (docs/fleet.md). */
export const handler = async (event: SQSEvent, context?: Pick<Context, "awsRequestId" | "getRemainingTimeInMillis">): Promise<SQSBatchResponse> => {
  const invocation = {
    coldStart,
    ...(context && { requestId: context.awsRequestId, endsAt: Date.now() + context.getRemainingTimeInMillis() }),
  };
  coldStart = false;
  const { batchItemFailures } = await worker.handle(event, invocation);
  return { batchItemFailures };
};
