import { SQSClient } from "@aws-sdk/client-sqs";
import { awsClientOptions, createAwsClients } from "../aws-clients.js";
import { AwsClock } from "../clock.js";
import { loadFleetConfig } from "../config/index.js";
import { Telemetry } from "../telemetry/telemetry.js";
import { Registry } from "./registry.js";
import { runSchedule, type ScheduleResult } from "./scheduler.js";

// Built once per execution environment; a bad configuration fails the cold start with its reason.
const { fleet, runtime } = loadFleetConfig(["workQueueUrl"]);
const clock = new AwsClock();
const { dynamodb, events } = createAwsClients(runtime.awsRequestTimeoutMs, clock);
const deps = {
  registry: new Registry(dynamodb, fleet.registryTableName),
  sqs: new SQSClient(awsClientOptions(runtime.awsRequestTimeoutMs)),
  clock,
  telemetry: Telemetry.forRuntime(runtime, events, { fleetName: fleet.fleetName }),
  settings: fleet,
};

/** The fleet's schedule target (every minute): one minute of the scheduler (docs/fleet.md). */
export const handler = (): Promise<ScheduleResult> => runSchedule(deps);
