// The app's configuration (cdk.json context or -c configFile=...) and the stack built from it.
import { readFileSync } from "node:fs";
import { Template } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { AppConfigError, CONTEXT_KEY, loadAppConfig, parseAppConfig } from "../../infra/config.js";
import { TokenRefresherStack } from "../../infra/stack.js";
import { ACCOUNT, ENV, REGION, cdkJsonContext, nagFindings, newApp, resources } from "./support.js";
import { Aspects } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";

const IOT = { name: "plant-a", endpointUrl: "https://iot.example.com:8743" };
const context = (values: Record<string, unknown>) => ({ tryGetContext: (key: string) => values[key] });

function problemsOf(raw: unknown): string[] {
  try {
    parseAppConfig(raw, "test");
  } catch (error) {
    if (error instanceof AppConfigError) return [...error.problems];
    throw error;
  }
  throw new Error("expected the configuration to be rejected");
}

describe("parseAppConfig", () => {
  it("accepts cdk.json's default configuration: one IoT example credential", () => {
    const config = parseAppConfig(cdkJsonContext()[CONTEXT_KEY], "cdk.json");
    expect(config).toEqual({
      stackName: "TokenRefresher",
      credentials: [{ name: "example-iot", dialect: "iot", endpointUrl: "https://iot.example.com:8743" }],
    });
  });

  it("applies defaults to every credential, the credential's own values winning", () => {
    const config = parseAppConfig(
      {
        defaults: { reservedConcurrency: 0, scheduleMinutes: 10, refreshWindowMinutes: 30 },
        credentials: [IOT, { name: "erp", dialect: "oauth2", endpointUrl: "https://auth.example.com", reservedConcurrency: 1 }],
      },
      "test",
    );
    expect(config.credentials.map((c) => [c.name, c.dialect, c.reservedConcurrency, c.scheduleMinutes])).toEqual([
      ["plant-a", "iot", 0, 10],
      ["erp", "oauth2", 1, 10],
    ]);
  });

  it("accepts the example configuration file", () => {
    const config = loadAppConfig(context({ configFile: "infra/config.example.json" }), (path) => readFileSync(path, "utf8"));
    expect(config.stackName).toBe("TokenRefresherProd");
    expect(config.credentials.map((c) => [c.name, c.dialect])).toEqual([
      ["plant-a-iot", "iot"],
      ["erp-oauth2", "oauth2"],
      ["billing-api", "client_credentials"],
    ]);
  });

  it("names the bad field of a credential", () => {
    expect(problemsOf({ credentials: [IOT, { name: "b", endpointUrl: "http://iot.example.com" }] })).toEqual([
      'credentials[1].endpointUrl must be an https URL, got "http://iot.example.com"',
    ]);
  });

  it("reports every problem at once", () => {
    const problems = problemsOf({
      stackName: "1bad",
      alarmEmail: "nobody",
      credentials: [
        { name: "a b", endpointUrl: "https://x.example.com", dialect: "soap" },
        { ...IOT, memorySize: 100, logRetentionDays: 42, reservedConcurrency: -1, endpointURL: "https://typo", refreshTokenTtlThresholdHours: 0 },
        { ...IOT, clientSecretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:plain", kmsKeyArn: "alias/foo" },
      ],
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^stackName must be a CloudFormation stack name/),
        'alarmEmail must be an e-mail address, got "nobody"',
        'credentials[0].dialect must be one of iot, oauth2, client_credentials, got "soap"',
        expect.stringMatching(/^credentials\[0\]\.name must be 1-64 letters/),
        "credentials[1].memorySize must be between 128 MB and 10240 MB, got 100",
        expect.stringMatching(/^credentials\[1\]\.logRetentionDays must be one of 1, 3, 5/),
        "credentials[1].reservedConcurrency must be between 0 and 1000, got -1",
        "credentials[1].refreshTokenTtlThresholdHours must be between 1 second and 365 days, got 0",
        expect.stringMatching(/^credentials\[1\]\.endpointURL is not a known field/),
        expect.stringMatching(/^credentials\[2\]\.clientSecretArn must be a complete Secrets Manager secret ARN/),
        expect.stringMatching(/^credentials\[2\]\.kmsKeyArn must be a KMS key ARN/),
        'credentials[2].name "plant-a" duplicates credentials[1].name',
      ]),
    );
    expect(problems).toHaveLength(12);
  });

  it("checks fields against each other, naming where each was set", () => {
    expect(problemsOf({ credentials: [{ ...IOT, scheduleMinutes: 15 }] })).toEqual([
      "credentials[0].refreshWindowMinutes must be longer than the schedule interval (15 minutes), or the token can expire between two runs",
    ]);
    expect(problemsOf({ defaults: { refreshWindowMinutes: 8 }, credentials: [IOT] })).toEqual([
      "credentials[0].accessTokenTtlThresholdMinutes must be shorter than the refresh window (8 minutes), or the alarm fires on healthy runs",
    ]);
    expect(problemsOf({ defaults: { timeoutSeconds: 300 }, credentials: [IOT] })).toEqual(["defaults.timeoutSeconds must be shorter than the schedule interval (5 minutes), got 300"]);
    expect(problemsOf({ defaults: { timeoutSeconds: 700, scheduleMinutes: 15, refreshWindowMinutes: 30 }, credentials: [IOT] })).toEqual([
      "defaults.timeoutSeconds must be between 20 seconds and 615 seconds, got 700",
    ]);
    expect(problemsOf({ credentials: [{ ...IOT, httpTimeoutMs: 30_000 }] })).toEqual([
      "credentials[0].httpTimeoutMs must not exceed the run budget (25 seconds: the timeout minus 15 s), got 30000",
    ]);
    expect(problemsOf({ credentials: [{ ...IOT, oauth2TokenPath: "/token" }] })).toEqual(['credentials[0].oauth2TokenPath is only used by the oauth2 and client_credentials dialects (dialect is iot), got "/token"']);
    expect(problemsOf({ credentials: [{ ...IOT, clientSecretName: "a", clientSecretArn: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:a-AbCdEf` }] })).toEqual([
      "credentials[0].clientSecretArn and clientSecretName are mutually exclusive",
    ]);
    expect(problemsOf({ credentials: [{ ...IOT, clientSecretName: "same", tokenSecretName: "same" }] })).toEqual([
      'credentials[0].tokenSecretName must not be the client secret: consumers who can read the token secret must not be able to refresh, got "same"',
    ]);
  });

  it("checks operatorPrincipalArns, runbookUrl and dashboard", () => {
    expect(problemsOf({ operatorPrincipalArns: ["Admin"], runbookUrl: "", dashboard: "yes", credentials: [IOT] })).toEqual([
      'operatorPrincipalArns must hold IAM role or user ARNs (arn:aws:iam::<account>:role/<path><name>, user/<path><name> or root; wildcards * and ?): "Admin" is not one, got ["Admin"]',
      'runbookUrl must be 1-400 characters without control characters, got ""',
      'dashboard must be true or false, got "yes"',
    ]);
  });

  it("rejects a configuration without credentials, or not an object", () => {
    expect(problemsOf({})).toEqual(["credentials must be a non-empty array of credentials, got undefined"]);
    expect(problemsOf({ credentials: [] })).toEqual(["credentials must be a non-empty array of credentials, got []"]);
    expect(problemsOf({ credentials: ["x"] })).toEqual(['credentials[0] must be an object, got "x"']);
    expect(problemsOf([IOT])).toEqual([`the configuration must be a JSON object, got ${JSON.stringify([IOT])}`]);
    expect(problemsOf({ defaults: { name: "x" }, credentials: [IOT] })).toEqual([expect.stringMatching(/^defaults\.name is not a known field/)]);
  });

  it("puts the source and every problem in the error message", () => {
    expect(() => parseAppConfig({ credentials: [{ name: "a", endpointUrl: "ftp://x" }] }, 'cdk.json context "token-refresher"')).toThrow(
      'Invalid token-refresher configuration (cdk.json context "token-refresher"):\n  - credentials[0].endpointUrl must be an https URL, got "ftp://x"',
    );
  });
});

describe("loadAppConfig", () => {
  it("reads the cdk.json context object, or a JSON string given with -c", () => {
    expect(loadAppConfig(context({ [CONTEXT_KEY]: { credentials: [IOT] } })).credentials[0]!.name).toBe("plant-a");
    expect(loadAppConfig(context({ [CONTEXT_KEY]: JSON.stringify({ credentials: [IOT] }) })).credentials[0]!.name).toBe("plant-a");
  });

  it("prefers -c configFile=path over the context, resolving it from the working directory", () => {
    const read: string[] = [];
    const config = loadAppConfig(context({ configFile: "conf/prod.json", [CONTEXT_KEY]: { credentials: [] } }), (path) => {
      read.push(path);
      return JSON.stringify({ stackName: "Prod", credentials: [IOT] });
    });
    expect(config.stackName).toBe("Prod");
    expect(read).toEqual([`${process.cwd()}/conf/prod.json`]);
  });

  it("says where a configuration problem comes from", () => {
    expect(() => loadAppConfig(context({}))).toThrow(/no configuration: set "token-refresher" in the context of cdk.json, or pass -c configFile=/);
    expect(() => loadAppConfig(context({ configFile: "missing.json" }), () => {
      throw new Error("ENOENT: no such file");
    })).toThrow(/config file .*missing\.json\):\n {2}- cannot read the file: ENOENT/);
    expect(() => loadAppConfig(context({ configFile: "bad.json" }), () => "{ nope")).toThrow(/config file .*bad\.json\):\n {2}- not valid JSON/);
    expect(() => loadAppConfig(context({ [CONTEXT_KEY]: { credentials: [{ ...IOT, endpointUrl: "http://x" }] } }))).toThrow(
      /cdk\.json context "token-refresher"\):\n {2}- credentials\[0\]\.endpointUrl must be an https URL/,
    );
  });
});

describe("TokenRefresherStack", () => {
  function build(raw: unknown) {
    const app = newApp();
    const stack = new TokenRefresherStack(app, "Stack", { config: parseAppConfig(raw, "test"), env: ENV });
    Aspects.of(stack).add(new AwsSolutionsChecks({ reports: false }));
    return { stack, template: Template.fromStack(stack) };
  }

  it("shares one on-call topic (with the e-mail subscription) among all credentials", () => {
    const { stack, template } = build({
      alarmEmail: "oncall@example.com",
      credentials: [IOT, { name: "erp", dialect: "oauth2", endpointUrl: "https://auth.example.com" }],
    });
    template.resourceCountIs("AWS::SNS::Topic", 1);
    template.resourceCountIs("AWS::SNS::Subscription", 1);
    template.resourceCountIs("AWS::Lambda::Function", 2);
    template.resourceCountIs("AWS::CloudWatch::Alarm", 14);
    template.resourceCountIs("AWS::DynamoDB::Table", 1); // one state table for the stack
    const topicId = Object.keys(template.findResources("AWS::SNS::Topic"))[0]!;
    for (const [, alarm] of resources(template, "AWS::CloudWatch::Alarm")) expect(alarm.AlarmActions).toEqual([{ Ref: topicId }]);
    expect(Object.keys(template.findOutputs("*")).sort()).toEqual(
      ["AlarmTopicArn", "StateTableName", "erpClientSecretArn", "erpFunctionName", "erpTokenSecretArn", "plantaClientSecretArn", "plantaFunctionName", "plantaTokenSecretArn"].sort(),
    );
    expect(nagFindings(stack)).toEqual([]);
  });

  it("imports the on-call topic, secrets (by ARN and by name) with their key, and a bus; applies per-credential settings", () => {
    const clientArn = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:plant-a/client-AbCdEf`;
    const keyArn = `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
    const topicArn = `arn:aws:sns:${REGION}:${ACCOUNT}:oncall`;
    const { stack, template } = build({
      alarmTopicArn: topicArn,
      metricsNamespace: "Acme/Tokens",
      credentials: [
        {
          ...IOT,
          clientSecretArn: clientArn,
          tokenSecretName: "plant-a/token",
          kmsKeyArn: keyArn,
          eventBusName: "integration",
          reservedConcurrency: 0,
          memorySize: 512,
          logRetentionDays: 30,
          scheduleMinutes: 2,
          refreshWindowMinutes: 10,
          accessTokenTtlThresholdMinutes: 5,
          refreshTokenTtlThresholdHours: 24,
          timeoutSeconds: 60,
        },
      ],
    });
    template.resourceCountIs("AWS::SNS::Topic", 0);
    template.resourceCountIs("AWS::SecretsManager::Secret", 0);
    const [, fn] = resources(template, "AWS::Lambda::Function")[0]!;
    expect(fn).toMatchObject({ MemorySize: 512, Timeout: 60 });
    expect(fn.ReservedConcurrentExecutions).toBeUndefined();
    expect((fn.Environment as { Variables: Record<string, unknown> }).Variables).toMatchObject({
      CLIENT_SECRET_ID: clientArn,
      TOKEN_SECRET_ID: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:plant-a/token`,
      EVENT_BUS_NAME: `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/integration`,
      METRICS_NAMESPACE: "Acme/Tokens",
      REFRESH_WINDOW_SECONDS: "600",
      RUN_BUDGET_MS: "45000",
      LEASE_SECONDS: "120",
    });
    template.hasResourceProperties("AWS::Logs::LogGroup", { RetentionInDays: 30 });
    template.hasResourceProperties("AWS::Events::Rule", { ScheduleExpression: "rate(2 minutes)" });
    const statements = resources(template, "AWS::IAM::Policy").flatMap(([, p]) => (p.PolicyDocument as { Statement: { Sid?: string }[] }).Statement);
    // One key for both imported secrets; each grant is bound to its own secret by the encryption context.
    expect(statements.find((s) => s.Sid === "TokenSecretKey")).toMatchObject({
      Action: ["kms:Decrypt", "kms:GenerateDataKey"],
      Resource: keyArn,
      Condition: { StringLike: { "kms:EncryptionContext:SecretARN": `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:plant-a/token-??????` } },
    });
    expect(statements.find((s) => s.Sid === "ClientSecretKey")).toMatchObject({
      Action: "kms:Decrypt",
      Resource: keyArn,
      Condition: { StringEquals: { "kms:EncryptionContext:SecretARN": clientArn } },
    });
    for (const [, alarm] of resources(template, "AWS::CloudWatch::Alarm")) expect(alarm.AlarmActions).toEqual([topicArn]);
    const thresholds = new Map(resources(template, "AWS::CloudWatch::Alarm").map(([, alarm]) => [alarm.MetricName, alarm.Threshold]));
    expect([thresholds.get("AccessTokenTtl"), thresholds.get("RefreshTokenTtl")]).toEqual([300, 86_400]);
    expect(nagFindings(stack)).toEqual([]);
  });

  it("lists operatorPrincipalArns in the created secrets' policies, and applies runbookUrl and dashboard", () => {
    const operator = `arn:aws:iam::${ACCOUNT}:role/token-refresher-operator`;
    const { stack, template } = build({
      operatorPrincipalArns: [operator],
      runbookUrl: "https://wiki.example.com/token-refresher",
      dashboard: true,
      credentials: [IOT, { name: "erp", dialect: "oauth2", endpointUrl: "https://auth.example.com", clientSecretName: "erp/client", tokenSecretName: "erp/token" }],
    });
    // plant-a's two created secrets carry a policy naming the operator; erp imports both and gets none.
    const policies = resources(template, "AWS::SecretsManager::ResourcePolicy");
    expect(policies).toHaveLength(2);
    for (const [id, policy] of policies) {
      expect(id).toMatch(/^planta/);
      expect(JSON.stringify(policy.ResourcePolicy)).toContain(operator);
    }
    for (const [, alarm] of resources(template, "AWS::CloudWatch::Alarm")) expect(alarm.AlarmDescription).toContain("Runbook: https://wiki.example.com/token-refresher (section ");
    template.resourceCountIs("AWS::CloudWatch::Dashboard", 2);
    expect(nagFindings(stack)).toEqual([]);
  });

  it("encrypts the secrets it creates with kmsKeyArn", () => {
    const keyArn = `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
    const { template } = build({ credentials: [{ ...IOT, kmsKeyArn: keyArn }] });
    for (const [, secret] of resources(template, "AWS::SecretsManager::Secret")) expect(secret.KmsKeyId).toBe(keyArn);
  });
});
