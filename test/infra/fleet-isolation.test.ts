// One run, one credential (docs/fleet.md, "Isolation, evaluated"): the fleet's synthesized policies judged
// by the IAM policy evaluator, session tags included, cell by cell against the two matrices in
// docs/fleet.md (what each principal reaches; who may assume the run role, with which tags).
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { FLEET_TAG } from "../../lambda/settings.js";
import { ADMINISTRATOR_ACCESS, compareWithDocumented, evaluate, roleSession, TemplateIam, type MatrixRow, type PolicyDocument, type Principal } from "../support/iam-matrix.js";
import { ACCOUNT, REGION, ROOT, fleetStack } from "./support.js";

const DOC = new URL("docs/fleet.md", ROOT);
const FLEET = "plants";
/** Another fleet of the account, with a credential of the same name as one of ours. */
const OTHER_FLEET = "orchard";
const RUN_TAG = FLEET_TAG.credential;
const BUDGET_ITEM = "#budget#1767225600";

/** A secret as `fleet add` creates it: `<prefix><fleet>/<credential>/<kind>`, tagged with all three. */
interface FleetSecret {
  readonly arn: string;
  readonly tags: Record<string, string>;
}
function fleetSecret(fleet: string, credential: string, kind: "client" | "token", taggedCredential = credential): FleetSecret {
  return {
    arn: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:token-refresher/${fleet}/${credential}/${kind}-AbCdEf`,
    tags: { [FLEET_TAG.fleet]: fleet, [FLEET_TAG.credential]: taggedCredential, [FLEET_TAG.secret]: kind },
  };
}

const SECRETS: Record<string, FleetSecret> = {
  "A client secret": fleetSecret(FLEET, "plant-a", "client"),
  "A token secret": fleetSecret(FLEET, "plant-a", "token"),
  "B client secret": fleetSecret(FLEET, "plant-b", "client"),
  "B token secret": fleetSecret(FLEET, "plant-b", "token"),
  // Someone retagged B's secret with A's name: its name still says B.
  "B client secret, tagged plant-a": fleetSecret(FLEET, "plant-b", "client", "plant-a"),
  [`${OTHER_FLEET}'s plant-a client secret`]: fleetSecret(OTHER_FLEET, "plant-a", "client"),
  [`${OTHER_FLEET}'s plant-a token secret`]: fleetSecret(OTHER_FLEET, "plant-a", "token"),
};
const OWN_SECRET_ACTIONS = ["GetSecretValue", "DescribeSecret", "PutSecretValue", "UpdateSecretVersionStage", "TagResource", "DeleteResourcePolicy", "DeleteSecret"];
const OTHER_SECRET_ACTIONS = ["GetSecretValue", "PutSecretValue"];

/** What each principal reaches: secrets, items, the queue, events. */
function accessRows(t: TemplateIam): MatrixRow[] {
  const rows: MatrixRow[] = Object.entries(SECRETS).flatMap(([label, secret]) =>
    (label.startsWith("A ") ? OWN_SECRET_ACTIONS : OTHER_SECRET_ACTIONS).map((action) => ({
      resource: label,
      action,
      request: (principal: Principal) => ({ principal, action: `secretsmanager:${action}`, resource: secret.arn, resourceTags: secret.tags }),
    })),
  );
  const table = (prefix: string) => t.arn(t.logicalId("AWS::DynamoDB::Table", prefix));
  const leadingKeys = (key: string | undefined): Record<string, string[]> => (key === undefined ? {} : { "dynamodb:LeadingKeys": [key] });
  const item = (label: string, tableArn: string, key: string | undefined, actions: string[]) => {
    for (const action of actions) {
      rows.push({ resource: label, action, request: (principal) => ({ principal, action: `dynamodb:${action}`, resource: tableArn, context: leadingKeys(key) }) });
    }
  };
  const state = table("TokenRefresherStateTable");
  const registry = table("FleetRegistryTable");
  item("state table, item plant-a", state, "plant-a", ["GetItem", "PutItem", "UpdateItem"]);
  item("state table, item plant-b", state, "plant-b", ["GetItem", "PutItem", "UpdateItem"]);
  item("registry, item plant-a", registry, "plant-a", ["GetItem", "UpdateItem", "PutItem", "DeleteItem"]);
  item("registry, item plant-b", registry, "plant-b", ["GetItem", "UpdateItem"]);
  item("registry, a write-budget item", registry, BUDGET_ITEM, ["UpdateItem"]);
  item("registry, every item", registry, undefined, ["Scan"]);
  // What the Null guards are for: without a key in the request, ForAllValues would hold vacuously.
  item("registry, a request without a key", registry, undefined, ["UpdateItem"]);
  item("registry, due index", `${registry}/index/due`, undefined, ["Query"]);
  const queue = t.arn(t.logicalId("AWS::SQS::Queue", "FleetWorkQueue"));
  for (const action of ["SendMessage", "ReceiveMessage"]) rows.push({ resource: "work queue", action, request: (principal) => ({ principal, action: `sqs:${action}`, resource: queue }) });
  for (const source of ["token-refresher", "aws.partner"]) {
    rows.push({
      resource: `default event bus, source ${source}`,
      action: "PutEvents",
      request: (principal) => ({ principal, action: "events:PutEvents", resource: `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/default`, context: { "events:source": [source] } }),
    });
  }
  return rows;
}

/** Who may start a run session, with which tags: sts:AssumeRole and sts:TagSession on the run role, the trust policy as its resource policy. */
function trustRows(t: TemplateIam): MatrixRow[] {
  const runRole = t.arn(t.logicalId("AWS::IAM::Role", "FleetRunRole"));
  const requests: [string, Record<string, string | string[]>][] = [
    ["run role, tag plant-a", { [`aws:RequestTag/${RUN_TAG}`]: "plant-a", "aws:TagKeys": [RUN_TAG] }],
    ["run role, no tag", {}],
    ["run role, tag plant-a and another tag", { [`aws:RequestTag/${RUN_TAG}`]: "plant-a", "aws:RequestTag/Team": "ops", "aws:TagKeys": [RUN_TAG, "Team"] }],
    ["run role, tag plant-a, transitive", { [`aws:RequestTag/${RUN_TAG}`]: "plant-a", "aws:TagKeys": [RUN_TAG], "sts:TransitiveTagKeys": [RUN_TAG] }],
    ["run role, an empty tag", { [`aws:RequestTag/${RUN_TAG}`]: "", "aws:TagKeys": [RUN_TAG] }],
  ];
  return requests.flatMap(([label, context]) =>
    ["AssumeRole", "TagSession"].map((action) => ({ resource: label, action, request: (principal: Principal) => ({ principal, action: `sts:${action}`, resource: runRole, context }) })),
  );
}

describe("fleet isolation (docs/fleet.md), evaluated on the synthesized template", () => {
  let t: TemplateIam;
  let runPolicies: PolicyDocument[];
  let run: (credential: string) => Principal;
  let worker: Principal;
  let scheduler: Principal;

  beforeAll(() => {
    t = TemplateIam.of(fleetStack({ fleetName: FLEET }).template.toJSON(), { account: ACCOUNT, region: REGION });
    const runRole = t.logicalId("AWS::IAM::Role", "FleetRunRole");
    runPolicies = t.identityPolicies(runRole);
    // A run's session: the run role's policies, the one session tag the worker set (aws:PrincipalTag/TokenRefresherCredential).
    run = (credential) => t.roleSession(runRole, { sessionName: credential, tags: { [RUN_TAG]: credential } });
    worker = t.roleSession(t.logicalId("AWS::IAM::Role", "FleetWorkerRole"));
    scheduler = t.roleSession(t.logicalId("AWS::IAM::Role", "FleetSchedulerRole"));
  });

  it("gives each run its own secrets and items only, and the worker itself none (matrix in docs/fleet.md)", async () => {
    const who = { "run A": run("plant-a"), "run B": run("plant-b"), worker, scheduler };
    const { differences, evaluated } = await compareWithDocumented(readFileSync(DOC, "utf8"), "fleet-access", accessRows(t), who, (request) => t.evaluate(request));
    expect(differences, evaluated).toEqual([]);
  });

  it("lets only the worker start a run session, with exactly the one tag, not transitive (matrix in docs/fleet.md)", async () => {
    const who = { worker, scheduler, "run A": run("plant-a"), admin: roleSession(`arn:aws:iam::${ACCOUNT}:role/admin`, [ADMINISTRATOR_ACCESS]) };
    const { differences, evaluated } = await compareWithDocumented(readFileSync(DOC, "utf8"), "fleet-trust", trustRows(t), who, (request) => t.evaluate(request));
    expect(differences, evaluated).toEqual([]);
  });

  it("would let A read B's secret without the tag comparisons: the matrix depends on them", async () => {
    const b = SECRETS["B client secret"]!;
    // The run role's policies with the session tag taken out of the ARNs and the conditions.
    const untagged = JSON.parse(JSON.stringify(runPolicies).replaceAll(`\${aws:PrincipalTag/${RUN_TAG}}`, "*"), (key, value: unknown) =>
      key === `aws:ResourceTag/${RUN_TAG}` ? undefined : value,
    ) as PolicyDocument[];
    const weakened = roleSession(t.arn(t.logicalId("AWS::IAM::Role", "FleetRunRole")), untagged, { tags: { [RUN_TAG]: "plant-a" } });
    expect((await evaluate({ principal: weakened, action: "secretsmanager:GetSecretValue", resource: b.arn, resourceTags: b.tags })).result).toBe("Allowed");
    expect((await t.evaluate({ principal: run("plant-a"), action: "secretsmanager:GetSecretValue", resource: b.arn, resourceTags: b.tags })).result).toBe("ImplicitlyDenied");
  });

  it("gives a session whose tag went missing nothing (the trust policy never starts one)", async () => {
    const untagged = t.roleSession(t.logicalId("AWS::IAM::Role", "FleetRunRole"));
    const a = SECRETS["A client secret"]!;
    expect((await t.evaluate({ principal: untagged, action: "secretsmanager:GetSecretValue", resource: a.arn, resourceTags: a.tags })).result).toBe("ImplicitlyDenied");
    const state = t.arn(t.logicalId("AWS::DynamoDB::Table", "TokenRefresherStateTable"));
    expect((await t.evaluate({ principal: untagged, action: "dynamodb:GetItem", resource: state, context: { "dynamodb:LeadingKeys": ["plant-a"] } })).result).toBe("ImplicitlyDenied");
  });
});
