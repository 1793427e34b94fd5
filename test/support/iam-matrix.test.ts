// The evaluator helper on small hand-made policies, so the policies it judges in the matrix (and in
// the fleet's per-run sessions) can be trusted to be judged as AWS judges them.
import { describe, expect, it } from "vitest";
import { ADMINISTRATOR_ACCESS, evaluate, iamUser, roleSession, TemplateIam, type PolicyDocument } from "./iam-matrix.js";

const ACCOUNT = "123456789012";
const OTHER_ACCOUNT = "210987654321";
const SECRET_A = `arn:aws:secretsmanager:eu-west-1:${ACCOUNT}:secret:plant-a-AbCdEf`;
const SECRET_B = `arn:aws:secretsmanager:eu-west-1:${ACCOUNT}:secret:plant-b-AbCdEf`;
const TABLE = `arn:aws:dynamodb:eu-west-1:${ACCOUNT}:table/state`;
const RUN_ROLE = `arn:aws:iam::${ACCOUNT}:role/fleet/run`;

/** What a fleet's per-run role might carry: the secret tagged with the session's credential, and that item only. */
const PER_RUN: PolicyDocument = {
  Version: "2012-10-17",
  Statement: [
    {
      Sid: "TaggedSecret",
      Effect: "Allow",
      Action: "secretsmanager:GetSecretValue",
      Resource: "*",
      Condition: { StringEquals: { "aws:ResourceTag/credential": "${aws:PrincipalTag/credential}" } },
    },
    {
      Sid: "OwnItem",
      Effect: "Allow",
      Action: "dynamodb:GetItem",
      Resource: TABLE,
      Condition: { "ForAllValues:StringEquals": { "dynamodb:LeadingKeys": ["${aws:PrincipalTag/credential}"] } },
    },
  ],
};

describe("session tags against resource tags (aws:PrincipalTag vs aws:ResourceTag)", () => {
  const run = roleSession(RUN_ROLE, [PER_RUN], { sessionName: "run-1", tags: { credential: "plant-a" } });

  it("allow the secret tagged with the session's credential", async () => {
    const decision = await evaluate({ principal: run, action: "secretsmanager:GetSecretValue", resource: SECRET_A, resourceTags: { credential: "plant-a" } });
    expect(decision).toEqual({ result: "Allowed", allowed: true, reason: "allowed by identity policy 1 statement TaggedSecret" });
  });

  it("deny a secret tagged with another credential, or untagged", async () => {
    const other = await evaluate({ principal: run, action: "secretsmanager:GetSecretValue", resource: SECRET_B, resourceTags: { credential: "plant-b" } });
    expect(other.result).toBe("ImplicitlyDenied");
    const untagged = await evaluate({ principal: run, action: "secretsmanager:GetSecretValue", resource: SECRET_B });
    expect(untagged.result).toBe("ImplicitlyDenied");
  });

  it("deny a session without the tag", async () => {
    const untaggedSession = roleSession(RUN_ROLE, [PER_RUN]);
    const decision = await evaluate({ principal: untaggedSession, action: "secretsmanager:GetSecretValue", resource: SECRET_A, resourceTags: { credential: "plant-a" } });
    expect(decision.result).toBe("ImplicitlyDenied");
  });

  it("judge a policy written with secretsmanager:ResourceTag/<key> as if the tag were missing (write aws:ResourceTag/<key>)", async () => {
    const legacy = JSON.parse(JSON.stringify(PER_RUN).replace("aws:ResourceTag/credential", "secretsmanager:ResourceTag/credential")) as PolicyDocument;
    const decision = await evaluate({ principal: roleSession(RUN_ROLE, [legacy], { tags: { credential: "plant-a" } }), action: "secretsmanager:GetSecretValue", resource: SECRET_A, resourceTags: { credential: "plant-a" } });
    expect(decision.result).toBe("ImplicitlyDenied");
  });

  it("compare dynamodb:LeadingKeys with the session tag", async () => {
    const own = await evaluate({ principal: run, action: "dynamodb:GetItem", resource: TABLE, context: { "dynamodb:LeadingKeys": ["plant-a"] } });
    const other = await evaluate({ principal: run, action: "dynamodb:GetItem", resource: TABLE, context: { "dynamodb:LeadingKeys": ["plant-b"] } });
    expect([own.result, other.result]).toEqual(["Allowed", "ImplicitlyDenied"]);
  });
});

describe("the evaluation", () => {
  it("evaluates kms:EncryptionContext:SecretARN, as Secrets Manager sets it", async () => {
    const key = `arn:aws:kms:eu-west-1:${ACCOUNT}:key/k1`;
    const keyUse: PolicyDocument = {
      Version: "2012-10-17",
      Statement: [
        {
          Effect: "Allow",
          Action: "kms:Decrypt",
          Resource: key,
          Condition: { StringEquals: { "kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com", "kms:EncryptionContext:SecretARN": SECRET_A } },
        },
      ],
    };
    const reader = roleSession(`arn:aws:iam::${ACCOUNT}:role/reader`, [keyUse]);
    const keyPolicy: PolicyDocument = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: "kms:*", Resource: "*" }] };
    const via = (secret: string) => ({ "kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com", "kms:EncryptionContext:SecretARN": secret });
    const own = await evaluate({ principal: reader, action: "kms:Decrypt", resource: key, context: via(SECRET_A), resourcePolicy: keyPolicy });
    const other = await evaluate({ principal: reader, action: "kms:Decrypt", resource: key, context: via(SECRET_B), resourcePolicy: keyPolicy });
    const direct = await evaluate({ principal: reader, action: "kms:Decrypt", resource: key, context: { "kms:EncryptionContext:SecretARN": SECRET_A }, resourcePolicy: keyPolicy });
    expect([own.result, other.result, direct.result]).toEqual(["Allowed", "ImplicitlyDenied", "ImplicitlyDenied"]);
  });

  const denyAllBut = (exempt: string[]): PolicyDocument => ({
    Version: "2012-10-17",
    Statement: [{ Sid: "OnlyListed", Effect: "Deny", Principal: { AWS: "*" }, Action: "secretsmanager:GetSecretValue", Resource: "*", Condition: { ArnNotLike: { "aws:PrincipalArn": exempt } } }],
  });

  it("matches aws:PrincipalArn with the role's ARN, not the session's", async () => {
    const admin = roleSession(`arn:aws:iam::${ACCOUNT}:role/admin`, [ADMINISTRATOR_ACCESS], { sessionName: "alice" });
    const listed = await evaluate({ principal: admin, action: "secretsmanager:GetSecretValue", resource: SECRET_A, resourcePolicy: denyAllBut([`arn:aws:iam::${ACCOUNT}:role/admin`]) });
    expect(listed.result).toBe("Allowed");
    const sessionListed = await evaluate({
      principal: admin,
      action: "secretsmanager:GetSecretValue",
      resource: SECRET_A,
      resourcePolicy: denyAllBut([`arn:aws:sts::${ACCOUNT}:assumed-role/admin/alice`]),
    });
    expect(sessionListed).toEqual({ result: "ExplicitlyDenied", allowed: false, reason: "denied by the resource policy statement OnlyListed" });
  });

  it("lets a wildcard in aws:PrincipalArn span a path, as AWS does", async () => {
    const intruder = roleSession(`arn:aws:iam::${ACCOUNT}:role/ops-x/intruder`, [ADMINISTRATOR_ACCESS]);
    const decision = await evaluate({ principal: intruder, action: "secretsmanager:GetSecretValue", resource: SECRET_A, resourcePolicy: denyAllBut([`arn:aws:iam::${ACCOUNT}:role/ops-*`]) });
    expect(decision.result).toBe("Allowed");
  });

  it("needs the resource policy to allow a principal of another account", async () => {
    const outsider = iamUser(`arn:aws:iam::${OTHER_ACCOUNT}:user/mallory`, [ADMINISTRATOR_ACCESS]);
    const decision = await evaluate({ principal: outsider, action: "secretsmanager:GetSecretValue", resource: SECRET_A });
    expect(decision.result).toBe("ImplicitlyDenied");
  });

  it("refuses a context key the action does not know, rather than ignoring it", async () => {
    const run = roleSession(RUN_ROLE, [PER_RUN]);
    await expect(evaluate({ principal: run, action: "secretsmanager:GetSecretValue", resource: SECRET_A, context: { "dynamodb:LeadingKeys": ["x"] } })).rejects.toThrow(
      /does not know the context keys dynamodb:LeadingKeys/,
    );
  });
});

describe("a template's policies", () => {
  const template = {
    Resources: {
      Secret1: { Type: "AWS::SecretsManager::Secret", Properties: {} },
      Reader1: { Type: "AWS::IAM::Role", Properties: { Path: "/apps/" } },
      ReaderPolicy1: {
        Type: "AWS::IAM::Policy",
        Properties: {
          Roles: [{ Ref: "Reader1" }],
          PolicyDocument: { Statement: [{ Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: { Ref: "Secret1" } }] },
        },
      },
      Secret1Policy: {
        Type: "AWS::SecretsManager::ResourcePolicy",
        Properties: {
          SecretId: { Ref: "Secret1" },
          ResourcePolicy: {
            Statement: [
              {
                Effect: "Deny",
                Principal: { AWS: "*" },
                Action: "secretsmanager:GetSecretValue",
                Resource: "*",
                Condition: { ArnNotLike: { "aws:PrincipalArn": [{ "Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/apps/${Reader1}" }] } },
              },
            ],
          },
        },
      },
    },
  };

  it("resolve Ref, Fn::GetAtt and Fn::Sub to the same fake ARNs, with the role's path", async () => {
    const iam = TemplateIam.of(template, { account: ACCOUNT, region: "eu-west-1" });
    expect(iam.arn("Reader1")).toBe(`arn:aws:iam::${ACCOUNT}:role/apps/Reader1`);
    expect(iam.arn("Secret1")).toBe(`arn:aws:secretsmanager:eu-west-1:${ACCOUNT}:secret:Secret1-AbCdEf`);
    const reader = iam.roleSession("Reader1");
    expect((await iam.evaluate({ principal: reader, action: "secretsmanager:GetSecretValue", resource: iam.arn("Secret1") })).result).toBe("Allowed");
    const other = roleSession(`arn:aws:iam::${ACCOUNT}:role/other`, [ADMINISTRATOR_ACCESS]);
    expect((await iam.evaluate({ principal: other, action: "secretsmanager:GetSecretValue", resource: iam.arn("Secret1") })).result).toBe("ExplicitlyDenied");
  });
});
