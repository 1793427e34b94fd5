// cfn-lint on the synthesized templates: the default app and every construct option at once.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Duration } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kms from "aws-cdk-lib/aws-kms";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import * as sns from "aws-cdk-lib/aws-sns";
import { describe, expect, it } from "vitest";
import { parseAppConfig } from "../../infra/config.js";
import { TokenRefresherStack } from "../../infra/stack.js";
import { TokenRefresher } from "../../infra/token-refresher/index.js";
import { ENV, allStrings, cfnLint, newApp, newStack } from "./support.js";

describe("cfn-lint", () => {
  it("finds nothing in the synthesized templates (default, and every option combined)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "token-refresher-lint-"));
    try {
      // Default app configuration.
      const app = newApp();
      const config = parseAppConfig({ credentials: [{ name: "example-iot", endpointUrl: "https://iot.example.com:8743" }] }, "test");
      const defaultStack = new TokenRefresherStack(app, "Default", { config });
      // Everything at once: the three dialects, CMK, imported secrets, operators, e-mail, custom schedule,
      // VPC placement, a dashboard, tuned alarms, alarm actions other than SNS, an operator of both.
      const stack = newStack(app, "Everything");
      const key = new kms.Key(stack, "Key", { enableKeyRotation: true });
      // An existing VPC (a new one would bring CDK's own findings: dummy AZs without lookups, its custom resource).
      const vpc = ec2.Vpc.fromVpcAttributes(stack, "Vpc", { vpcId: "vpc-0123456789abcdef0", availabilityZones: ["eu-west-1a", "eu-west-1b"], privateSubnetIds: ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"] });
      const iot = new TokenRefresher(stack, "Iot", {
        credentialName: "iot",
        endpointUrl: "https://iot.example.com:8743",
        encryptionKey: key,
        alarmEmail: "oncall@example.com",
        operatorPrincipalArns: [`arn:aws:iam::${ENV.account}:role/operator`, `arn:aws:iam::${ENV.account}:role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_Admin_*`],
        vpc,
        dashboard: true,
        reservedConcurrency: 1,
        alarms: { appFrozen: { enabled: false }, refreshFailed: { evaluationPeriods: 3, datapointsToAlarm: 2 }, refreshTokenTtl: { threshold: Duration.days(7) } },
      });
      const oauth = new TokenRefresher(stack, "OAuth", {
        credentialName: "oauth",
        dialect: "oauth2",
        endpointUrl: "https://auth.example.com",
        oauth2TokenPath: "/oauth2/token",
        refreshWindow: Duration.minutes(30),
        alarmActions: [new SnsAction(sns.Topic.fromTopicArn(stack, "Pager", `arn:aws:sns:${ENV.region}:${ENV.account}:pager`))],
        clientSecret: secretsmanager.Secret.fromSecretNameV2(stack, "Client", "oauth/client"),
        tokenSecret: secretsmanager.Secret.fromSecretCompleteArn(stack, "Token", `arn:aws:secretsmanager:${ENV.region}:${ENV.account}:secret:oauth/token-AbCdEf`),
      });
      // No refresh token, so no RefreshTokenTtl alarm; HTTP Basic client authentication, scope and audience.
      new TokenRefresher(stack, "Service", {
        credentialName: "service",
        dialect: "client_credentials",
        endpointUrl: "https://auth.example.com",
        oauth2ClientAuth: "client_secret_basic",
        oauth2Scope: "billing.read billing.write",
        oauth2Audience: "https://billing.example.com/api",
        dashboard: true,
      });
      const operator = new iam.Role(stack, "Operator", { assumedBy: new iam.AccountRootPrincipal() });
      iot.grantOperate(operator);
      oauth.grantOperate(operator);
      const files = [defaultStack, stack].map((s) => {
        const file = join(dir, `${s.stackName}.template.json`);
        writeFileSync(file, JSON.stringify(Template.fromStack(s).toJSON(), null, 1));
        return file;
      });
      for (const file of files) expect(allStrings(JSON.parse(readFileSync(file, "utf8"))).join("\n")).not.toMatch(/PRIVATE KEY/);

      const lint = await cfnLint(files);
      expect(lint.code, `cfn-lint findings:\n${lint.output}`).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
