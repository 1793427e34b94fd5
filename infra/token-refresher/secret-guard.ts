// The resource policies that guard the secrets token-refresher creates (docs/security.md): the
// construct attaches them to the secrets it deploys, `token-refresher fleet add` to the secrets it
// creates at run time (docs/fleet.md). Plain JSON, no CDK: the CLI imports it too.
import { isPathPattern, pathSpans } from "../../lambda/config/principals.js";

/** Every call that changes a secret's value or versions, or deletes it; denied to all but the listed principals. */
export const SECRET_WRITES = [
  "secretsmanager:PutSecretValue",
  "secretsmanager:UpdateSecretVersionStage",
  "secretsmanager:UpdateSecret",
  "secretsmanager:DeleteSecret",
  "secretsmanager:RestoreSecret",
  "secretsmanager:RotateSecret",
];

/**
 * The calls that replace or remove a resource policy. Denied with the rest: otherwise anyone whose IAM
 * allows them (`secretsmanager:*`) removes the policy first and reads or writes the secret next.
 */
export const POLICY_CHANGES = ["secretsmanager:PutResourcePolicy", "secretsmanager:DeleteResourcePolicy"];

/**
 * What each secret's policy denies to all but the listed principals. Client secret: reading it too —
 * whoever writes it steers what the refresher logs in with, and so the tokens consumers receive: the
 * same few principals read it and write it. Token secret: writes only; reads stay with identity
 * policies (consumers' `grantRead`).
 */
const GUARDS = {
  client: { sid: "OnlyRefresherAndOperatorsReadOrWrite", actions: ["secretsmanager:GetSecretValue", ...SECRET_WRITES, ...POLICY_CHANGES] },
  token: { sid: "OnlyRefresherAndOperatorsWrite", actions: [...SECRET_WRITES, ...POLICY_CHANGES] },
} as const;

export type GuardedSecret = keyof typeof GUARDS;

/** One statement of a secret's resource policy, as IAM reads it. */
export interface DenyStatementJson {
  readonly Sid: string;
  readonly Effect: "Deny";
  readonly Principal: { readonly AWS: "*" };
  readonly Action: readonly string[];
  readonly Resource: "*";
  readonly Condition: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
}

/**
 * The statements of `secret`'s resource policy: its actions denied to every principal whose
 * `aws:PrincipalArn` is not in `exempt` (a Deny with `ArnNotLike`, not a `NotPrincipal`, so a listed
 * role keeps access in every session); where an operator pattern has a wildcard, also to the ARNs the
 * wildcard reaches only by spanning a `/` ({@link pathSpans}), unless listed by their own ARN
 * (`listedByArn`: the exempt ARNs that are no pattern). `exempt` and `listedByArn` may be CDK list
 * tokens: they are placed in the conditions as given.
 */
export function secretGuardStatements(
  secret: GuardedSecret,
  exempt: readonly string[],
  operatorPatterns: readonly string[],
  listedByArn: readonly string[] = exempt.filter((arn) => !isPathPattern(arn)),
): DenyStatementJson[] {
  const { sid, actions } = GUARDS[secret];
  const statements = [denyAllBut(sid, actions, { ArnNotLike: { "aws:PrincipalArn": exempt } })];
  const spans = [...new Set(operatorPatterns.filter(isPathPattern).flatMap(pathSpans))];
  if (spans.length > 0) {
    statements.push(denyAllBut("OperatorWildcardsStayInOnePathSegment", actions, { ArnLike: { "aws:PrincipalArn": spans }, ArnNotLike: { "aws:PrincipalArn": listedByArn } }));
  }
  return statements;
}

function denyAllBut(sid: string, actions: readonly string[], conditions: DenyStatementJson["Condition"]): DenyStatementJson {
  return { Sid: sid, Effect: "Deny", Principal: { AWS: "*" }, Action: [...actions], Resource: "*", Condition: conditions };
}
