import { Stack, Token } from "aws-cdk-lib";
import * as sns from "aws-cdk-lib/aws-sns";
import { EmailSubscription } from "aws-cdk-lib/aws-sns-subscriptions";
import type { Construct } from "constructs";
import { addAlarmTopicOutput } from "./outputs.js";

/** Construct id of the stack's alarm topic, directly under the stack. */
const ALARM_TOPIC_ID = "TokenRefresherAlarmTopic";

/**
 * The alarm topic of `scope`'s stack for the refreshers given no `alarmTopic`: created by the first
 * one with the stack output `AlarmTopicArn`, and shared by all of them (docs/construct.md, "Per
 * stack"), so one subscription pages for every credential of the stack. SSL-only publishing.
 */
export function alarmTopicOf(scope: Construct): sns.Topic {
  const stack = Stack.of(scope);
  const existing = stack.node.tryFindChild(ALARM_TOPIC_ID);
  if (existing) return existing as sns.Topic;
  const topic = new sns.Topic(stack, ALARM_TOPIC_ID, { displayName: "token-refresher alarms", enforceSSL: true });
  addAlarmTopicOutput(topic);
  return topic;
}

/**
 * Subscribes `email` to `topic`, once: refreshers sharing a topic may each name the same address.
 * (CDK names an e-mail subscription after its address, under the topic.)
 */
export function subscribeOnce(topic: sns.ITopic, email: string): void {
  if (!Token.isUnresolved(email) && topic.node.tryFindChild(email)) return;
  topic.addSubscription(new EmailSubscription(email));
}
