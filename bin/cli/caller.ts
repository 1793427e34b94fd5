// The operator's AWS identity: who `pause` and the fleet commands record, and whether the resource
// policies on the secrets `fleet add` creates let the operator through (docs/fleet.md, "Isolation").
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import type { Env } from "./io.js";
import { awsClientConfig } from "./settings.js";

/** The caller's ARN, as STS answers it (a role session's ARN for a role). */
export async function callerArn(env: Env): Promise<string> {
  const sts = new STSClient(awsClientConfig(env));
  try {
    return (await sts.send(new GetCallerIdentityCommand({}))).Arn ?? "unknown";
  } finally {
    sts.destroy();
  }
}

const ROLE_SESSION = /^arn:([^:]+):sts::(\d{12}):assumed-role\/([^/]+)\/[^/]+$/;

/**
 * Whether a Deny conditioned on `ArnNotLike aws:PrincipalArn: exempt` lets `caller` through. For a
 * user the caller's ARN is `aws:PrincipalArn`; for a role session it is the role's ARN, whose path
 * the session's ARN does not carry, so a role is judged by its account and name on any path. This
 * keeps an operator from creating secrets it could not delete (AWS decides; moto evaluates no policy).
 */
export function letThrough(caller: string, exempt: readonly string[]): boolean {
  const session = ROLE_SESSION.exec(caller);
  if (!session) return exempt.some((pattern) => arnLike(pattern, caller));
  const [, partition, account, roleName] = session as unknown as [string, string, string, string];
  return exempt.some((pattern) => {
    const path = pattern.lastIndexOf("/");
    const isRole = path !== -1 && arnLike(pattern.slice(0, pattern.indexOf("/") + 1), `arn:${partition}:iam::${account}:role/`);
    return isRole && globMatch(pattern.slice(path + 1), roleName);
  });
}

/** IAM's `ArnLike`: each of the six colon-separated parts matched on its own, `*` and `?` as wildcards. */
export function arnLike(pattern: string, arn: string): boolean {
  const parts = (text: string) => {
    const split = text.split(":");
    return [...split.slice(0, 5), split.slice(5).join(":")];
  };
  const [wanted, given] = [parts(pattern), parts(arn)];
  return wanted.length === given.length && wanted.every((part, index) => globMatch(part, given[index]!));
}

function globMatch(pattern: string, text: string): boolean {
  const source = [...pattern].map((char) => (char === "*" ? ".*" : char === "?" ? "." : char.replace(/[.+^${}()|[\]\\]/g, "\\$&"))).join("");
  return new RegExp(`^${source}$`, "s").test(text);
}
