import { CfnResource } from "aws-cdk-lib";
import type { IConstruct } from "constructs";

/** One acknowledged cdk-nag finding, with the reason it does not apply (ASCII, so cdk-nag stores it as written). */
export interface NagSuppression {
  readonly id: string;
  readonly reason: string;
  /** Only these findings of the rule (e.g. `Resource::<arn>`). */
  readonly appliesTo?: readonly string[];
}

/**
 * Writes cdk-nag suppressions as the `cdk_nag` resource metadata cdk-nag reads (the format its
 * `NagSuppressions.addResourceSuppressions` writes), so the construct needs no cdk-nag at run time;
 * apps that run cdk-nag see every finding acknowledged with its reason.
 */
export function suppressNag(construct: IConstruct, suppressions: readonly NagSuppression[], applyToChildren = false): void {
  for (const target of applyToChildren ? construct.node.findAll() : [construct]) {
    const resource = target.node.defaultChild ?? target;
    if (!(resource instanceof CfnResource)) continue;
    const existing = (resource.getMetadata("cdk_nag") as { rules_to_suppress?: unknown[] } | undefined)?.rules_to_suppress ?? [];
    const added = suppressions.map(({ id, reason, appliesTo }) => (appliesTo ? { reason, id, applies_to: [...appliesTo] } : { reason, id }));
    const rules = [...new Set([...existing, ...added].map((rule) => JSON.stringify(rule)))].map((rule) => JSON.parse(rule) as unknown);
    resource.addMetadata("cdk_nag", { rules_to_suppress: rules });
  }
}
