import { createHash } from "node:crypto";

/** EventBridge's limit on a rule name. */
export const MAX_RULE_NAME = 64;

/**
 * Physical names derived from the stack name and the credential name alone (unique per account and
 * region), so the function's environment can carry them as plain strings: a reference to the rule
 * or an alarm would make the function depend on resources that depend on the function.
 */
export function alarmName(stackName: string, credentialName: string, alarmId: string): string {
  return `${stackName}-${credentialName}-${alarmId}`;
}

/**
 * `<stack>-<credential>-schedule`; a longer one is cut and ends in 8 hex digits of its SHA-256, so
 * it stays unique and the same on every synth.
 */
export function scheduleRuleName(stackName: string, credentialName: string): string {
  const name = `${stackName}-${credentialName}-schedule`;
  if (name.length <= MAX_RULE_NAME) return name;
  const hash = createHash("sha256").update(name).digest("hex").slice(0, 8);
  return `${name.slice(0, MAX_RULE_NAME - hash.length - 1)}-${hash}`;
}
