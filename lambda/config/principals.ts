// The one rule for `operatorPrincipalArns` (construct prop and JSON configuration alike, through the
// settings table), and the path-bound reading of its wildcards that the secrets' resource policies
// enforce (docs/security.md, "Operator patterns"). Values only known at deploy time never reach it.

/** An IAM role, user or account-root ARN as `aws:PrincipalArn` carries it; `*`/`?` wildcards allowed. */
const PRINCIPAL_ARN = /^(arn:aws[a-z-]*:iam::(?:\d{12}|\*):)(root|user\/\S+|role\/\S+)$/;
const ROLE_SESSION = /^arn:aws[a-z-]*:sts::\d{12}:assumed-role\//;
const WILDCARD = /[*?]/;

/**
 * Why `arns` cannot be listed as operators, or undefined. Each must be a role, user or account-root
 * ARN, not a role session. A wildcard matches within one path segment of a role or user ARN
 * ({@link pathSpans}), so two patterns where roles on one's path would be what the other's wildcard
 * spans contradict each other, and are refused.
 */
export function operatorPrincipalArnsProblem(arns: readonly unknown[]): string | undefined {
  for (const arn of arns) {
    if (typeof arn === "string" && ROLE_SESSION.test(arn)) {
      return `lists the role session ${JSON.stringify(arn)}: aws:PrincipalArn carries the role's ARN for its sessions, so list arn:aws:iam::<account>:role/<path><name>`;
    }
    if (typeof arn !== "string" || !PRINCIPAL_ARN.test(arn)) {
      return `must hold IAM role or user ARNs (arn:aws:iam::<account>:role/<path><name>, user/<path><name> or root; wildcards * and ?): ${JSON.stringify(arn)} is not one`;
    }
  }
  const patterns = arns.filter((arn): arn is string => typeof arn === "string" && WILDCARD.test(namePart(arn)));
  for (const wide of patterns) {
    const deeper = patterns.find((other) => other !== wide && lieBelow(other, wide));
    if (deeper) {
      return `has ${JSON.stringify(deeper)} on a deeper path than ${JSON.stringify(wide)}, whose wildcards match within one path segment only: list patterns on paths that do not overlap`;
    }
  }
  return undefined;
}

/** Whether an operator ARN has a wildcard in its role or user path and name (the account's `*` spans nothing). */
export function isPathPattern(arn: string): boolean {
  return PRINCIPAL_ARN.test(arn) && WILDCARD.test(namePart(arn));
}

/**
 * The ARN patterns that match what `pattern` matches only by letting a wildcard span a `/`: in
 * `ArnLike`, `*` and `?` match `/` too, so `role/ops-*` also matches `role/ops-x/intruder`, a role on
 * the path `/ops-x/` that whoever may create roles can make. One pattern per wildcard, that wildcard
 * made to contain a `/` (a `*` becomes `*`, `/`, `*`; a `?` becomes `/`); together they match exactly the ARNs with more path
 * segments than `pattern` has, which a resource policy denies to keep each wildcard in its segment.
 */
export function pathSpans(pattern: string): string[] {
  const [, prefix, name] = PRINCIPAL_ARN.exec(pattern) ?? [];
  if (prefix === undefined || name === undefined) return [];
  const spans = [...name].flatMap((char, index) => {
    if (char === "*") return [`${prefix}${name.slice(0, index)}*/*${name.slice(index + 1)}`];
    if (char === "?") return [`${prefix}${name.slice(0, index)}/${name.slice(index + 1)}`];
    return [];
  });
  return [...new Set(spans)];
}

/** `role/<path><name>`, `user/...` or `root`. */
function namePart(arn: string): string {
  return PRINCIPAL_ARN.exec(arn)?.[2] ?? "";
}

/**
 * Whether some role `deeper` lets through could be one that `wide`'s wildcards only reach by spanning
 * a `/`: same partition, accounts that can match, `deeper` has more path segments, and their paths
 * agree up to the first wildcard of either.
 */
function lieBelow(deeper: string, wide: string): boolean {
  const [, deepPrefix = "", deepName = ""] = PRINCIPAL_ARN.exec(deeper) ?? [];
  const [, widePrefix = "", wideName = ""] = PRINCIPAL_ARN.exec(wide) ?? [];
  const [, deepPartition, , , deepAccount] = deepPrefix.split(":");
  const [, widePartition, , , wideAccount] = widePrefix.split(":");
  if (deepPartition !== widePartition || (deepAccount !== wideAccount && deepAccount !== "*" && wideAccount !== "*")) return false;
  if (deepName.split("/").length <= wideName.split("/").length) return false;
  const fixed = (name: string) => name.slice(0, name.search(WILDCARD) === -1 ? name.length : name.search(WILDCARD));
  const [a, b] = [fixed(deepName), fixed(wideName)];
  return a.startsWith(b) || b.startsWith(a);
}
