import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import type * as sns from "aws-cdk-lib/aws-sns";
import type { Construct } from "constructs";
import type { FailureOutcome } from "../../lambda/errors.js";
import { EVENT_FAILED, EVENT_OVERDUE, EVENT_SOURCE } from "../../lambda/telemetry/names.js";

/** The failures that need a person at once, whatever the next run does: each one pages with the credential's name. */
export const PAGED_OUTCOMES: readonly FailureOutcome[] = ["CredentialRejected", "AppFrozen", "PairDiscarded"];

export interface PagingInputs {
  readonly fleetName: string;
  readonly eventBus: events.IEventBus;
  readonly topic: sns.ITopic;
  readonly runbookUrl: string;
  /** The worker, whose name the CLI takes with `--function`. */
  readonly workerFunction: lambda.IFunction;
}

/** The two paging rules: a failure that needs a person, and an overdue credential. */
export interface PagingRules {
  readonly failed: events.Rule;
  readonly overdue: events.Rule;
}

const field = (path: string) => events.EventField.fromPath(path);

/**
 * Pages that name the credential at a constant cost (docs/fleet.md, "Paging"): EventBridge rules on
 * this fleet's events (`detail.fleet`), each sending the topic a message built from the event (an
 * input transformer) with the credential, the outcome, the runbook section and the CLI command to
 * look at it. Two rules whatever the number of credentials.
 */
export function addPagingRules(scope: Construct, inputs: PagingInputs): PagingRules {
  const { fleetName, runbookUrl } = inputs;
  const credential = field("$.detail.credential");
  const show = `token-refresher fleet show ${credential} --function ${inputs.workerFunction.functionName}`;
  const where = `account ${events.EventField.account}, ${events.EventField.region}, ${events.EventField.time}`;
  const outcome = field("$.detail.outcome");
  const failed = new events.Rule(scope, "FailedPagingRule", {
    description: `token-refresher fleet ${fleetName}: pages on ${PAGED_OUTCOMES.join(", ")} with the credential's name`,
    eventBus: inputs.eventBus,
    eventPattern: { source: [EVENT_SOURCE], detailType: [EVENT_FAILED], detail: { fleet: [fleetName], outcome: [...PAGED_OUTCOMES] } },
    targets: [
      new targets.SnsTopic(inputs.topic, {
        message: events.RuleTargetInput.fromText(
          `token-refresher fleet ${fleetName}: ${outcome} for credential ${credential} (${where}). It needs a person; retrying will not help. ` +
            `Runbook: ${runbookUrl} (section "Fleet: ${outcome}"). Look: ${show}`,
        ),
      }),
    ],
  });
  const overdue = new events.Rule(scope, "OverduePagingRule", {
    description: `token-refresher fleet ${fleetName}: pages on each overdue credential with its name`,
    eventBus: inputs.eventBus,
    eventPattern: { source: [EVENT_SOURCE], detailType: [EVENT_OVERDUE], detail: { fleet: [fleetName] } },
    targets: [
      new targets.SnsTopic(inputs.topic, {
        message: events.RuleTargetInput.fromText(
          `token-refresher fleet ${fleetName}: credential ${credential} is overdue (${where}): its access token expires at ${field("$.detail.expiresAt")} ` +
            `and no run has refreshed it (last outcome: ${field("$.detail.lastOutcome")}). Consumers will get 401s. ` +
            `Runbook: ${runbookUrl} (section "Fleet: Overdue"). Look: ${show}`,
        ),
      }),
    ],
  });
  return { failed, overdue };
}
