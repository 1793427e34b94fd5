// Who can do what, evaluated: IAM policies read from a synthesized CloudFormation template and judged
// by an IAM policy evaluator (@cloud-copilot/iam-simulate), offline. moto enforces no IAM and no
// resource policy, so this is where "X cannot do Y" is proven (docs/security.md says what is evaluated
// and what the evaluator does not model).
//
//   const iam = TemplateIam.of(Template.fromStack(stack).toJSON(), { account, region });
//   const refresher = iam.roleSession("RefresherServiceRole1234");           // policies from the template
//   const admin = roleSession(`arn:aws:iam::${account}:role/admin`, [ADMINISTRATOR_ACCESS]);
//   const fleetRun = roleSession(runRoleArn, iam.identityPolicies("RunRole"), { tags: { credential: "plant-a" } });
//   const decision = await iam.evaluate({ principal: admin, action: "secretsmanager:GetSecretValue", resource: iam.arn("ClientSecret1234") });
//   decision.result  // "Allowed" | "ExplicitlyDenied" | "ImplicitlyDenied"; decision.reason says which statement decided
//
// Resources get fake but well-formed ARNs (a secret `<logicalId>-AbCdEf`, a key `key/<logicalId>`, named
// resources by their name), and Ref / Fn::GetAtt / Fn::Join / Fn::Sub / Fn::Select are resolved to them,
// so the identity policies and the resource policies name the same strings. The request context carries
// what AWS sets for every request (aws:PrincipalArn = the role's ARN for a role session,
// aws:PrincipalAccount, aws:PrincipalTag/<key> for session tags); the caller adds what the service sets
// (kms:ViaService, kms:EncryptionContext:SecretARN, dynamodb:LeadingKeys, events:source, ...) and the
// resource's tags (aws:ResourceTag/<key>). A context key the evaluator does not know for the action fails the evaluation,
// so a misspelt key cannot silently leave a condition unmatched.
import { createValidatedPolicy, validateResourcePolicy } from "@cloud-copilot/iam-policy";
import { getDenialReasons, getGrantReasons, runSimulation, runUnsafeSimulation, type RequestAnalysis, type Simulation } from "@cloud-copilot/iam-simulate";

/** An IAM policy document as it stands in a template (after intrinsic functions are resolved). */
export interface PolicyDocument {
  readonly Version?: string;
  readonly Statement: readonly Record<string, unknown>[];
}

/** The account and region the template's resources live in. */
export interface IamEnvironment {
  readonly account: string;
  readonly region: string;
  readonly partition?: string;
}

/** Who makes a request: the ARN the caller signs as, the ARN `aws:PrincipalArn` carries, its policies and tags. */
export interface Principal {
  /** The caller's ARN: an assumed-role session ARN for a role, the user ARN for a user. */
  readonly callerArn: string;
  /** `aws:PrincipalArn`: the role's ARN (never the session's) for a role session; the user ARN for a user. */
  readonly principalArn: string;
  readonly account: string;
  /** Identity policies (inline and managed alike). */
  readonly policies: readonly PolicyDocument[];
  /** Session tags (role session) or user tags: `aws:PrincipalTag/<key>`. */
  readonly tags: Readonly<Record<string, string>>;
}

export interface RoleSessionOptions {
  readonly sessionName?: string;
  /** Session tags given when the role was assumed (or the role's own tags). */
  readonly tags?: Readonly<Record<string, string>>;
}

/** The managed policy AdministratorAccess. */
export const ADMINISTRATOR_ACCESS: PolicyDocument = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] };

/** A session of the role `roleArn` (`arn:aws:iam::<account>:role/<path><name>`). */
export function roleSession(roleArn: string, policies: readonly PolicyDocument[], options: RoleSessionOptions = {}): Principal {
  const match = /^arn:([^:]+):iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/.exec(roleArn);
  if (!match) throw new Error(`not an IAM role ARN: ${roleArn}`);
  const [, partition, account, name] = match as unknown as [string, string, string, string];
  return {
    callerArn: `arn:${partition}:sts::${account}:assumed-role/${name}/${options.sessionName ?? "session"}`,
    principalArn: roleArn,
    account,
    policies,
    tags: options.tags ?? {},
  };
}

/** The IAM user `userArn`, with its tags. */
export function iamUser(userArn: string, policies: readonly PolicyDocument[], tags: Readonly<Record<string, string>> = {}): Principal {
  const match = /^arn:[^:]+:iam::(\d{12}):user\/.+$/.exec(userArn);
  if (!match) throw new Error(`not an IAM user ARN: ${userArn}`);
  return { callerArn: userArn, principalArn: userArn, account: match[1]!, policies, tags };
}

export interface EvaluationRequest {
  readonly principal: Principal;
  /** `service:Action`. */
  readonly action: string;
  /** The resource's ARN (`*` for actions that take no resource). */
  readonly resource: string;
  /** Context keys the service sets for this request, besides the principal's (see the top of this file). */
  readonly context?: Readonly<Record<string, string | readonly string[]>>;
  /**
   * The resource's tags, as `aws:ResourceTag/<key>`. The evaluator knows Secrets Manager's older
   * `secretsmanager:ResourceTag/<key>` only by its documentation placeholder (`.../tag-key`), so a policy
   * written with it is judged as if the tag were missing (denied): write `aws:ResourceTag/<key>`,
   * which AWS evaluates the same way.
   */
  readonly resourceTags?: Readonly<Record<string, string>>;
  /** The resource's policy (secret resource policy, key policy), if it has one. */
  readonly resourcePolicy?: PolicyDocument;
}

export type EvaluationResult = "Allowed" | "ExplicitlyDenied" | "ImplicitlyDenied";

export interface Decision {
  readonly result: EvaluationResult;
  readonly allowed: boolean;
  /** Which statements decided, e.g. `allowed by identity policy 1 statement ReadClientSecret`. */
  readonly reason: string;
}

/** Evaluates one request as AWS would: identity policies and the resource policy, same or cross account. */
export async function evaluate(request: EvaluationRequest): Promise<Decision> {
  const { principal } = request;
  const context: Record<string, string | string[]> = {
    "aws:PrincipalArn": principal.principalArn,
    "aws:PrincipalAccount": principal.account,
    ...Object.fromEntries(Object.entries(principal.tags).map(([key, value]) => [`aws:PrincipalTag/${key}`, value])),
  };
  for (const [key, value] of Object.entries(request.resourceTags ?? {})) context[`aws:ResourceTag/${key}`] = value;
  for (const [key, value] of Object.entries(request.context ?? {})) context[key] = typeof value === "string" ? value : [...value];
  const resourceAccount = /^arn:[^:]+:[^:]+:[^:]*:(\d{12}):/.exec(request.resource)?.[1] ?? principal.account;
  const simulation: Simulation = {
    request: { principal: principal.callerArn, action: request.action, resource: { resource: request.resource, accountId: resourceAccount }, contextVariables: context },
    identityPolicies: principal.policies.map((policy, index) => ({ name: `identity policy ${index + 1}`, policy })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: request.resourcePolicy,
  };
  const response = await runSimulation(simulation, {});
  if (response.resultType === "error") throw new Error(`cannot evaluate ${request.action} on ${request.resource}: ${JSON.stringify(response.errors)}`);
  if (response.resultType !== "single") throw new Error(`${request.resource} is a pattern; evaluate one resource at a time`);
  const ignored = response.result.ignoredContextKeys ?? [];
  if (ignored.length > 0 && ignored.every((key) => ENCRYPTION_CONTEXT.test(key))) {
    // The evaluator's check of context keys recognizes `kms:EncryptionContext:<key>` (a key named after
    // a colon, not a slash) as unknown and drops it; the policies and the request are valid (checked
    // just above), so evaluate again with the context as given.
    const resourcePolicy = request.resourcePolicy && createValidatedPolicy(request.resourcePolicy, validateResourcePolicy, { name: "resource policy" });
    const result = runUnsafeSimulation({ ...simulation, resourcePolicy }, {});
    return { result, allowed: result === "Allowed", reason: `${result}, with ${ignored.join(", ")} (evaluated without the evaluator's context-key check)` };
  }
  if (ignored.length > 0) throw new Error(`${request.action} does not know the context keys ${ignored.join(", ")}`);
  const analysis = response.result.analysis;
  return { result: analysis.result, allowed: analysis.result === "Allowed", reason: explain(analysis) };
}

/** KMS's encryption-context condition keys (`kms:EncryptionContext:SecretARN`, ...). */
const ENCRYPTION_CONTEXT = /^kms:EncryptionContext:.+$/i;

function explain(analysis: RequestAnalysis): string {
  const statement = (s: { statementId?: string | undefined; statementIndex: number }) => (s.statementId ? `statement ${s.statementId}` : `statement #${s.statementIndex}`);
  if (analysis.result === "Allowed") {
    return `allowed by ${getGrantReasons(analysis)
      .map((g) => `${g.policyType === "resource" ? "the resource policy" : g.policyIdentifier} ${statement(g)}`)
      .join(", ")}`;
  }
  const reasons = getDenialReasons(analysis).map((d) =>
    d.denialType === "Explicit" ? `${d.policyType === "resource" ? "the resource policy" : (d.policyIdentifier ?? d.policyType)} ${statement(d)}` : `no ${d.policyType} statement allows it`,
  );
  return `${analysis.result === "ExplicitlyDenied" ? "denied by" : "not allowed:"} ${reasons.join(", ") || "nothing allows it"}`;
}

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
interface TemplateResource {
  readonly Type: string;
  readonly Properties?: Record<string, Json>;
}

/** Secrets Manager's 6-character suffix of every fake secret ARN. */
const SECRET_SUFFIX = "AbCdEf";

/** Per resource type: the property naming it, and how its ARN and `Ref` are formed from that name. */
const RESOURCE_TYPES: Record<
  string,
  { nameProperty?: string; arn: (name: string, env: Required<IamEnvironment>, path: string) => string; ref: "name" | "arn" | ((name: string, env: Required<IamEnvironment>) => string) }
> = {
  "AWS::IAM::Role": { nameProperty: "RoleName", arn: (name, e, path) => `arn:${e.partition}:iam::${e.account}:role${path}${name}`, ref: "name" },
  "AWS::IAM::User": { nameProperty: "UserName", arn: (name, e, path) => `arn:${e.partition}:iam::${e.account}:user${path}${name}`, ref: "name" },
  "AWS::SecretsManager::Secret": { nameProperty: "Name", arn: (name, e) => `arn:${e.partition}:secretsmanager:${e.region}:${e.account}:secret:${name}-${SECRET_SUFFIX}`, ref: "arn" },
  "AWS::KMS::Key": { arn: (name, e) => `arn:${e.partition}:kms:${e.region}:${e.account}:key/${name.toLowerCase()}`, ref: "name" },
  "AWS::DynamoDB::Table": { nameProperty: "TableName", arn: (name, e) => `arn:${e.partition}:dynamodb:${e.region}:${e.account}:table/${name}`, ref: "name" },
  "AWS::Events::Rule": { nameProperty: "Name", arn: (name, e) => `arn:${e.partition}:events:${e.region}:${e.account}:rule/${name}`, ref: "name" },
  "AWS::Events::EventBus": { nameProperty: "Name", arn: (name, e) => `arn:${e.partition}:events:${e.region}:${e.account}:event-bus/${name}`, ref: "name" },
  "AWS::CloudWatch::Alarm": { nameProperty: "AlarmName", arn: (name, e) => `arn:${e.partition}:cloudwatch:${e.region}:${e.account}:alarm:${name}`, ref: "name" },
  "AWS::Lambda::Function": { nameProperty: "FunctionName", arn: (name, e) => `arn:${e.partition}:lambda:${e.region}:${e.account}:function:${name}`, ref: "name" },
  "AWS::Logs::LogGroup": { nameProperty: "LogGroupName", arn: (name, e) => `arn:${e.partition}:logs:${e.region}:${e.account}:log-group:${name}:*`, ref: "name" },
  "AWS::SQS::Queue": { nameProperty: "QueueName", arn: (name, e) => `arn:${e.partition}:sqs:${e.region}:${e.account}:${name}`, ref: (name, e) => `https://sqs.${e.region}.amazonaws.com/${e.account}/${name}` },
  "AWS::SNS::Topic": { nameProperty: "TopicName", arn: (name, e) => `arn:${e.partition}:sns:${e.region}:${e.account}:${name}`, ref: "arn" },
};

/**
 * The IAM side of one synthesized template: each resource's fake ARN, each role's and user's identity
 * policies (AWS::IAM::Policy and inline `Policies`), and the resource policies of secrets
 * (AWS::SecretsManager::ResourcePolicy), keys (the key policy) and roles (the trust policy).
 */
export class TemplateIam {
  static of(template: unknown, env: IamEnvironment): TemplateIam {
    return new TemplateIam((template as { Resources: Record<string, TemplateResource> }).Resources, { partition: "aws", ...env });
  }

  private readonly identity = new Map<string, PolicyDocument[]>();
  private readonly resourcePolicies = new Map<string, PolicyDocument>();

  private constructor(
    private readonly resources: Record<string, TemplateResource>,
    readonly env: Required<IamEnvironment>,
  ) {
    for (const [logicalId, resource] of Object.entries(resources)) {
      const properties = resource.Properties ?? {};
      if (resource.Type === "AWS::IAM::Policy") {
        const document = this.resolve(properties.PolicyDocument) as unknown as PolicyDocument;
        for (const holder of [...((properties.Roles as Json[] | undefined) ?? []), ...((properties.Users as Json[] | undefined) ?? [])]) {
          const id = refTarget(holder, logicalId);
          this.identity.set(id, [...(this.identity.get(id) ?? []), document]);
        }
      } else if (resource.Type === "AWS::IAM::Role" || resource.Type === "AWS::IAM::User") {
        if (properties.ManagedPolicyArns) throw new Error(`${logicalId}: managed policies are not modelled; give their documents to roleSession() yourself`);
        const inline = ((properties.Policies as { PolicyDocument: Json }[] | undefined) ?? []).map((p) => this.resolve(p.PolicyDocument) as unknown as PolicyDocument);
        this.identity.set(logicalId, [...inline, ...(this.identity.get(logicalId) ?? [])]);
        // A role's trust policy is the resource policy of sts:AssumeRole and sts:TagSession on it.
        if (resource.Type === "AWS::IAM::Role" && properties.AssumeRolePolicyDocument) this.resourcePolicies.set(this.arn(logicalId), this.resolve(properties.AssumeRolePolicyDocument) as unknown as PolicyDocument);
      } else if (resource.Type === "AWS::SecretsManager::ResourcePolicy") {
        this.resourcePolicies.set(this.resolve(properties.SecretId) as string, this.resolve(properties.ResourcePolicy) as unknown as PolicyDocument);
      } else if (resource.Type === "AWS::KMS::Key") {
        this.resourcePolicies.set(this.arn(logicalId), this.resolve(properties.KeyPolicy) as unknown as PolicyDocument);
      }
    }
  }

  /** Logical ids of the resources of a type whose id starts with `prefix`. */
  logicalIds(type: string, prefix = ""): string[] {
    return Object.entries(this.resources)
      .filter(([id, resource]) => resource.Type === type && id.startsWith(prefix))
      .map(([id]) => id);
  }

  /** The one resource of a type whose logical id starts with `prefix` (fails on none or several). */
  logicalId(type: string, prefix = ""): string {
    const ids = this.logicalIds(type, prefix);
    if (ids.length !== 1) throw new Error(`expected one ${type} starting with "${prefix}", found ${ids.length}`);
    return ids[0]!;
  }

  /** The fake ARN of a resource of the template. */
  arn(logicalId: string): string {
    const resource = this.resources[logicalId];
    if (!resource) throw new Error(`no resource ${logicalId} in the template`);
    const kind = RESOURCE_TYPES[resource.Type];
    if (!kind) throw new Error(`${logicalId}: no ARN model for ${resource.Type}`);
    const path = (resource.Properties?.Path as string | undefined) ?? "/";
    return kind.arn(this.physicalName(logicalId), this.env, path);
  }

  /** A role's or user's identity policies in the template. */
  identityPolicies(logicalId: string): PolicyDocument[] {
    return this.identity.get(logicalId) ?? [];
  }

  /** The resource policy (secret), key policy (key) or trust policy (role) attached in the template to the resource `arn`. */
  resourcePolicy(arn: string): PolicyDocument | undefined {
    return this.resourcePolicies.get(arn);
  }

  /** A session of a role of the template, with the role's identity policies (plus `extra`). */
  roleSession(logicalId: string, options: RoleSessionOptions & { extra?: readonly PolicyDocument[] } = {}): Principal {
    return roleSession(this.arn(logicalId), [...this.identityPolicies(logicalId), ...(options.extra ?? [])], options);
  }

  /** {@link evaluate}, with the resource policy the template attaches to `request.resource`. */
  evaluate(request: Omit<EvaluationRequest, "resourcePolicy">): Promise<Decision> {
    return evaluate({ ...request, resourcePolicy: this.resourcePolicy(request.resource) });
  }

  private physicalName(logicalId: string): string {
    const resource = this.resources[logicalId]!;
    const property = RESOURCE_TYPES[resource.Type]?.nameProperty;
    const named = property ? resource.Properties?.[property] : undefined;
    return named === undefined ? logicalId : (this.resolve(named) as string);
  }

  /** The value with every intrinsic function replaced by what it stands for here. */
  resolve(value: Json | undefined): Json {
    if (value === undefined) throw new Error("nothing to resolve");
    if (Array.isArray(value)) return value.map((v) => this.resolve(v));
    if (value === null || typeof value !== "object") return value;
    const keys = Object.keys(value);
    if (keys.length === 1 && (keys[0] === "Ref" || keys[0]!.startsWith("Fn::"))) return this.intrinsic(keys[0]!, value[keys[0]!]!);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.resolve(v)]));
  }

  private intrinsic(name: string, argument: Json): Json {
    switch (name) {
      case "Ref":
        return this.ref(argument as string);
      case "Fn::GetAtt": {
        const [logicalId, attribute] = typeof argument === "string" ? (argument.split(".") as [string, string]) : (argument as [string, string]);
        if (attribute !== "Arn") throw new Error(`Fn::GetAtt ${logicalId}.${attribute} is not modelled (only Arn)`);
        return this.arn(logicalId);
      }
      case "Fn::Join": {
        const [separator, parts] = argument as [string, Json[]];
        return (this.resolve(parts) as Json[]).map(String).join(separator);
      }
      case "Fn::Select": {
        const [index, list] = argument as [number, Json];
        return (this.resolve(list) as Json[])[Number(index)]!;
      }
      case "Fn::Sub": {
        const [text, variables] = typeof argument === "string" ? [argument, {}] : (argument as [string, Record<string, Json>]);
        return text.replace(/\$\{([^}!]+)\}/g, (_, variable: string) => {
          if (variable in variables) return asString(this.resolve(variables[variable]));
          const [id, attribute] = variable.split(".");
          return attribute ? asString(this.intrinsic("Fn::GetAtt", [id!, attribute])) : this.ref(id!);
        });
      }
      default:
        throw new Error(`${name} is not modelled`);
    }
  }

  private ref(target: string): string {
    const pseudo: Record<string, string> = {
      "AWS::AccountId": this.env.account,
      "AWS::Region": this.env.region,
      "AWS::Partition": this.env.partition,
      "AWS::URLSuffix": "amazonaws.com",
    };
    if (target in pseudo) return pseudo[target]!;
    const resource = this.resources[target];
    if (!resource) throw new Error(`Ref ${target}: no such resource or pseudo parameter`);
    const kind = RESOURCE_TYPES[resource.Type];
    if (!kind) throw new Error(`Ref ${target}: no model for ${resource.Type}`);
    if (typeof kind.ref === "function") return kind.ref(this.physicalName(target), this.env);
    return kind.ref === "arn" ? this.arn(target) : this.physicalName(target);
  }
}

function asString(value: Json): string {
  if (typeof value !== "string") throw new Error(`expected a string, got ${JSON.stringify(value)}`);
  return value;
}

function refTarget(value: Json, owner: string): string {
  if (value && typeof value === "object" && !Array.isArray(value) && typeof value.Ref === "string") return value.Ref;
  throw new Error(`${owner}: a policy attached to ${JSON.stringify(value)}, not a role or user of the template`);
}

/** One row of a who-can-do-what matrix: a resource and an action, and the request as AWS makes it for a principal. */
export interface MatrixRow {
  readonly resource: string;
  readonly action: string;
  readonly request: (principal: Principal) => EvaluationRequest;
}

/** A matrix cell: `yes` allowed, `DENY` explicitly denied, `-` nothing allows it. */
export type Cell = "yes" | "DENY" | "-";

export const cellOf = (decision: Decision): Cell => (decision.allowed ? "yes" : decision.result === "ExplicitlyDenied" ? "DENY" : "-");

/**
 * Evaluates every row for every principal (columns, in order) and compares with the matrix a document
 * holds between `<!-- <marker>:start -->` and `<!-- <marker>:end -->`: the differences (each with the
 * reason the evaluator gave), and the matrix as evaluated, in the document's format, to paste.
 */
export async function compareWithDocumented(
  text: string,
  marker: string,
  rows: readonly MatrixRow[],
  principals: Readonly<Record<string, Principal>>,
  judge: (request: EvaluationRequest) => Promise<Decision>,
): Promise<{ differences: string[]; evaluated: string }> {
  const columns = Object.keys(principals);
  const computed = new Map<string, Cell[]>();
  const reasons = new Map<string, string>();
  for (const row of rows) {
    const values: Cell[] = [];
    for (const [name, principal] of Object.entries(principals)) {
      const decision = await judge(row.request(principal));
      values.push(cellOf(decision));
      reasons.set(`${row.resource} | ${row.action} | ${name}`, decision.reason);
    }
    computed.set(`${row.resource} | ${row.action}`, values);
  }
  const evaluated = `matrix as evaluated:\n${matrixMarkdown(columns, computed)}\n`;
  const documented = documentedMatrix(text, marker);
  const differences: string[] = [];
  if (documented.columns.join(" | ") !== columns.join(" | ")) differences.push(`columns: documented ${documented.columns.join(", ")}, evaluated ${columns.join(", ")}`);
  for (const [key, values] of computed) {
    const expected = documented.cells.get(key);
    if (!expected) differences.push(`${key}: row missing from the document`);
    else values.forEach((value, i) => value !== expected[i] && differences.push(`${key} | ${columns[i]}: documented ${expected[i]}, evaluated ${value} (${reasons.get(`${key} | ${columns[i]}`)})`));
  }
  for (const key of documented.cells.keys()) if (!computed.has(key)) differences.push(`${key}: documented, but no such row is evaluated`);
  return { differences, evaluated };
}

/** The matrix between the markers: its principal columns, and `resource | action` → cells. */
function documentedMatrix(text: string, marker: string): { columns: string[]; cells: Map<string, Cell[]> } {
  const block = new RegExp(`<!-- ${marker}:start -->\\n([\\s\\S]*?)<!-- ${marker}:end -->`).exec(text)?.[1];
  if (!block) throw new Error(`no <!-- ${marker}:start --> ... <!-- ${marker}:end --> block`);
  const lines = block
    .trim()
    .split("\n")
    .filter((line) => !/^\|[-| ]+\|$/.test(line))
    .map((line) => line.split("|").slice(1, -1).map((c) => c.trim().replace(/`/g, "")));
  const [header, ...body] = lines;
  const cells = new Map<string, Cell[]>();
  for (const [resource, action, ...values] of body) cells.set(`${resource} | ${action}`, values as Cell[]);
  return { columns: header!.slice(2), cells };
}

function matrixMarkdown(columns: string[], computed: Map<string, Cell[]>): string {
  const lines = [`| resource | action | ${columns.join(" | ")} |`, `|---|---|${columns.map(() => "---").join("|")}|`];
  for (const [key, values] of computed) {
    const [resource, action] = key.split(" | ");
    lines.push(`| ${resource} | \`${action}\` | ${values.join(" | ")} |`);
  }
  return lines.join("\n");
}
