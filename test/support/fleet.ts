// A fleet as its construct deploys it, for the fleet commands' tests against moto: the registry
// table (with its sparse `due` index), the state table, a run role's ARN, an operator role a test
// session assumes, and the worker function's environment, built from the settings table.
import { CreateTableCommand, DynamoDBClient, GetItemCommand, type AttributeValue } from "@aws-sdk/client-dynamodb";
import { CreateRoleCommand, IAMClient } from "@aws-sdk/client-iam";
import { DescribeSecretCommand, GetResourcePolicyCommand, ResourceNotFoundException } from "@aws-sdk/client-secrets-manager";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import { variableOf, type SettingField } from "../../lambda/config/index.js";
import { secretsClient, uniqueName } from "./aws.js";
import { createStateTable } from "./refresher.js";

export const ACCOUNT = "123456789012";

/** The registry table as docs/fleet.md describes it: key `credential`, GSI `due` (dueShard, nextDueAt), projection ALL. */
export async function createRegistryTable(name = uniqueName("registry")): Promise<string> {
  await new DynamoDBClient({}).send(
    new CreateTableCommand({
      TableName: name,
      AttributeDefinitions: [
        { AttributeName: "credential", AttributeType: "S" },
        { AttributeName: "dueShard", AttributeType: "S" },
        { AttributeName: "nextDueAt", AttributeType: "N" },
      ],
      KeySchema: [{ AttributeName: "credential", KeyType: "HASH" }],
      GlobalSecondaryIndexes: [
        {
          IndexName: "due",
          KeySchema: [
            { AttributeName: "dueShard", KeyType: "HASH" },
            { AttributeName: "nextDueAt", KeyType: "RANGE" },
          ],
          Projection: { ProjectionType: "ALL" },
        },
      ],
      BillingMode: "PAY_PER_REQUEST",
    }),
  );
  return name;
}

/** AWS credentials of one session. */
export interface SessionCredentials {
  readonly AWS_ACCESS_KEY_ID: string;
  readonly AWS_SECRET_ACCESS_KEY: string;
  readonly AWS_SESSION_TOKEN?: string;
}

/** The suite's default identity (test/setup-env.ts): moto's own user, no operator of any fleet. */
export const DEFAULT_CALLER: SessionCredentials = { AWS_ACCESS_KEY_ID: "testing", AWS_SECRET_ACCESS_KEY: "testing" };

/** Runs `use` with the SDK's credentials (read from the process's environment) set to `session`'s. */
export async function asCaller<T>(session: SessionCredentials, use: () => Promise<T>): Promise<T> {
  const keys = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"] as const;
  const before = Object.fromEntries(keys.map((key) => [key, process.env[key]]));
  for (const key of keys) {
    if (session[key] === undefined) delete process.env[key];
    else process.env[key] = session[key];
  }
  try {
    return await use();
  } finally {
    for (const key of keys) {
      if (before[key] === undefined) delete process.env[key];
      else process.env[key] = before[key];
    }
  }
}

export interface Fleet {
  readonly fleetName: string;
  readonly registryTableName: string;
  readonly stateTableName: string;
  readonly secretNamePrefix: string;
  readonly runRoleArn: string;
  /** An operator role on a path, and a session of it (moto's STS answers its assumed-role ARN). */
  readonly operatorRoleArn: string;
  readonly operator: SessionCredentials;
  /** The worker function's variables (the fleet construct's), as `--function` would read them. */
  readonly env: Record<string, string>;
  secretName(credential: string, kind: "client" | "token"): string;
}

export async function createFleet(): Promise<Fleet> {
  const fleetName = uniqueName("fleet");
  const registryTableName = await createRegistryTable();
  const stateTableName = await createStateTable();
  const secretNamePrefix = "token-refresher/";
  const runRoleArn = `arn:aws:iam::${ACCOUNT}:role/${uniqueName("fleet-run")}`;
  const roleName = uniqueName("fleet-operator");
  const role = await new IAMClient({}).send(
    new CreateRoleCommand({
      RoleName: roleName,
      Path: "/fleet-ops/",
      AssumeRolePolicyDocument: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: "sts:AssumeRole" }] }),
    }),
  );
  const session = await new STSClient({}).send(new AssumeRoleCommand({ RoleArn: role.Role!.Arn, RoleSessionName: "alice" }));
  const { AccessKeyId, SecretAccessKey, SessionToken } = session.Credentials!;
  const settings: Partial<Record<SettingField, string>> = {
    fleetName,
    registryTableName,
    stateTableName,
    secretNamePrefix,
    runRoleArn,
    operatorPrincipalArns: role.Role!.Arn!,
    eventBusName: "",
  };
  return {
    fleetName,
    registryTableName,
    stateTableName,
    secretNamePrefix,
    runRoleArn,
    operatorRoleArn: role.Role!.Arn!,
    operator: { AWS_ACCESS_KEY_ID: AccessKeyId!, AWS_SECRET_ACCESS_KEY: SecretAccessKey!, AWS_SESSION_TOKEN: SessionToken! },
    env: Object.fromEntries(Object.entries(settings).map(([field, value]) => [variableOf(field as SettingField), value])),
    secretName: (credential, kind) => `${secretNamePrefix}${fleetName}/${credential}/${kind}`,
  };
}

/** What moto holds of a secret: missing, scheduled for deletion, or there (its tags and resource policy). */
export type StoredSecret =
  | { readonly kind: "missing" }
  | { readonly kind: "deleting"; readonly deletedDate: Date }
  | { readonly kind: "exists"; readonly arn: string; readonly tags: Record<string, string>; readonly policy?: { Statement: Record<string, unknown>[] } };

export async function storedSecret(name: string): Promise<StoredSecret> {
  const secrets = secretsClient();
  try {
    const answer = await secrets.send(new DescribeSecretCommand({ SecretId: name }));
    if (answer.DeletedDate) return { kind: "deleting", deletedDate: answer.DeletedDate };
    const policy = (await secrets.send(new GetResourcePolicyCommand({ SecretId: name }))).ResourcePolicy;
    return {
      kind: "exists",
      arn: answer.ARN!,
      tags: Object.fromEntries((answer.Tags ?? []).map((tag) => [tag.Key!, tag.Value!])),
      ...(policy && { policy: JSON.parse(policy) as { Statement: Record<string, unknown>[] } }),
    };
  } catch (error) {
    if (error instanceof ResourceNotFoundException) return { kind: "missing" };
    throw error;
  }
}

/** An item of a table, read consistently from moto; undefined when there is none. */
export async function tableItem(tableName: string, credential: string): Promise<Record<string, AttributeValue> | undefined> {
  const answer = await new DynamoDBClient({}).send(new GetItemCommand({ TableName: tableName, Key: { credential: { S: credential } }, ConsistentRead: true }));
  return answer.Item;
}

/** Everything of `credential` the fleet holds: what a half-created or half-removed credential would leave. */
export async function leftOf(fleet: Fleet, credential: string): Promise<{ client: string; token: string; registry: boolean; state: boolean }> {
  return {
    client: (await storedSecret(fleet.secretName(credential, "client"))).kind,
    token: (await storedSecret(fleet.secretName(credential, "token"))).kind,
    registry: (await tableItem(fleet.registryTableName, credential)) !== undefined,
    state: (await tableItem(fleet.stateTableName, credential)) !== undefined,
  };
}

export const NOTHING_LEFT = { client: "missing", token: "missing", registry: false, state: false } as const;
