// Paging that names the credential (docs/fleet.md, "Paging"), run by EventBridge: the fleet's two
// synthesized rules (pattern and input transformer, as in the template) put on a bus in moto, fed the
// events the runtime publishes (the real Telemetry, in fleet mode and not), and what they deliver read
// back. moto's EventBridge delivers to SQS, not SNS, so a queue stands in for the topic; the message
// is the same text either way.
import { CreateEventBusCommand, PutEventsCommand, PutRuleCommand, PutTargetsCommand } from "@aws-sdk/client-eventbridge";
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { beforeAll, describe, expect, it } from "vitest";
import { runtimeSettings } from "../../lambda/config/index.js";
import { EVENT_OVERDUE, EVENT_SOURCE } from "../../lambda/telemetry/names.js";
import { Telemetry, type RefreshResult } from "../../lambda/telemetry/telemetry.js";
import { eventsClient, uniqueName } from "../support/aws.js";
import { TemplateIam } from "../support/iam-matrix.js";
import { ENV, fleetStack, resources } from "./support.js";

interface Target {
  readonly InputTransformer: { readonly InputPathsMap: Record<string, string>; readonly InputTemplate: unknown };
}

/** A run as the worker reports it (the fields the event carries). */
const failedRun = (credential: string, outcome: RefreshResult["outcome"]): RefreshResult => ({
  credential,
  outcome,
  reason: "PlatformError",
  apiCalls: 1,
  durationMs: 120,
  httpStatus: 401,
  errorCode: "100208",
  errorKind: "rejected",
  message: "the platform rejected the credential",
});

describe("the fleet's paging rules, run by EventBridge (moto)", () => {
  const sqs = new SQSClient({});
  let bus: string;
  let queueUrl: string;
  let workerName: string;

  /** The telemetry a worker of `fleetName` reports through (none: a dedicated refresher's). */
  const telemetry = (fleetName?: string) =>
    Telemetry.forRuntime(runtimeSettings({ stateTableName: "unused", eventBusName: bus }), eventsClient(), { write: () => undefined, ...(fleetName && { fleetName }) });

  /** The scheduler's event for an overdue credential (docs/fleet.md: the fleet, the credential, when it expires, its last outcome). */
  const overdue = (fleet: string, credential: string) =>
    eventsClient().send(
      new PutEventsCommand({
        Entries: [{ EventBusName: bus, Source: EVENT_SOURCE, DetailType: EVENT_OVERDUE, Detail: JSON.stringify({ fleet, credential, expiresAt: "2026-12-03T10:15:00.000Z", lastOutcome: "RefreshFailed" }) }],
      }),
    );

  beforeAll(async () => {
    const { template } = fleetStack();
    const t = TemplateIam.of(template.toJSON(), ENV);
    workerName = t.logicalId("AWS::Lambda::Function", "FleetWorkerFunction");
    bus = uniqueName("fleet-bus");
    await eventsClient().send(new CreateEventBusCommand({ Name: bus }));
    queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: uniqueName("pages") }))).QueueUrl!;
    const queueArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["QueueArn"] }))).Attributes!.QueueArn!;
    for (const [id, rule] of resources(template, "AWS::Events::Rule").filter(([, r]) => r.EventPattern !== undefined)) {
      const name = uniqueName(id.slice(0, 40));
      await eventsClient().send(new PutRuleCommand({ Name: name, EventBusName: bus, EventPattern: JSON.stringify(rule.EventPattern) }));
      const [target] = rule.Targets as Target[];
      const inputTransformer = { InputPathsMap: target!.InputTransformer.InputPathsMap, InputTemplate: t.resolve(target!.InputTransformer.InputTemplate as never) as string };
      await eventsClient().send(new PutTargetsCommand({ Rule: name, EventBusName: bus, Targets: [{ Id: "pager", Arn: queueArn, InputTransformer: inputTransformer }] }));
    }
  });

  it("page for this fleet's rejected, frozen and discarded credentials and its overdue ones, naming each, and for nothing else", async () => {
    await telemetry("plants").report(failedRun("plant-a", "CredentialRejected"));
    await telemetry("plants").report(failedRun("plant-b", "AppFrozen"));
    await telemetry("plants").report(failedRun("plant-c", "PairDiscarded"));
    await overdue("plants", "plant-d");
    // Not paged: a failure the next run may fix (the refreshFailed alarm watches those), another fleet's, a dedicated refresher's.
    await telemetry("plants").report(failedRun("plant-e", "RefreshFailed"));
    await telemetry("orchard").report(failedRun("plant-f", "CredentialRejected"));
    await overdue("orchard", "plant-g");
    await telemetry().report(failedRun("plant-h", "AppFrozen"));

    const pages: string[] = [];
    for (;;) {
      const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
      if (Messages.length === 0) break;
      pages.push(...Messages.map((message) => JSON.parse(message.Body!) as string));
    }
    pages.sort();
    expect(pages).toHaveLength(4);
    const look = (credential: string) => `Look: token-refresher fleet show ${credential} --function ${workerName}`;
    const [rejected, frozen, discarded, late] = ["plant-a", "plant-b", "plant-c", "plant-d"].map((credential) => pages.find((page) => page.includes(`credential ${credential} `))!);
    expect(rejected).toMatch(/^token-refresher fleet plants: CredentialRejected for credential plant-a \(account 123456789012, us-east-1, .+\)\. It needs a person; retrying will not help\. /);
    expect(rejected).toContain(`Runbook: token-refresher docs/fleet.md (section "Fleet: CredentialRejected"). ${look("plant-a")}`);
    expect(frozen).toContain(`AppFrozen for credential plant-b`);
    expect(frozen).toContain(`(section "Fleet: AppFrozen"). ${look("plant-b")}`);
    expect(discarded).toContain(`PairDiscarded for credential plant-c`);
    expect(late).toMatch(/^token-refresher fleet plants: credential plant-d is overdue \(.+\): its access token expires at 2026-12-03T10:15:00.000Z and no run has refreshed it \(last outcome: RefreshFailed\)\. /);
    expect(late).toContain(`(section "Fleet: Overdue"). ${look("plant-d")}`);
    // Nothing the events carry besides names, outcomes and times: no platform message reaches the page.
    for (const page of pages) expect(page).not.toContain("the platform rejected");
  });
});
