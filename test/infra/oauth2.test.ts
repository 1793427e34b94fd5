// The OAuth2 dialects (oauth2, client_credentials) in the construct and the CDK configuration file:
// client authentication, scope and audience reach the function's environment, props and fields that
// only OAuth2 uses are rejected elsewhere, and client_credentials (no refresh token) has no RefreshTokenTtl alarm.
import { readFileSync } from "node:fs";
import { Aspects, Duration, Lazy } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { AwsSolutionsChecks } from "cdk-nag";
import { describe, expect, it } from "vitest";
import { DEFAULT_OAUTH2_TOKEN_PATH, MAX_SCOPE_CHARS } from "../../lambda/settings.js";
import { METRIC } from "../../lambda/telemetry/names.js";
import { AppConfigError, loadAppConfig, parseAppConfig } from "../../infra/config.js";
import { TokenRefresherStack } from "../../infra/stack.js";
import { TokenRefresher, type TokenRefresherProps } from "../../infra/token-refresher/index.js";
import { ENV, IOT_PROPS, allStrings, nagFindings, newApp, newStack, onlyResource, refresherStack, resources } from "./support.js";

const AUTH = "https://auth.example.com";
const OAUTH2_VARIABLES = ["OAUTH2_TOKEN_PATH", "DEFAULT_EXPIRES_IN_SECONDS", "OAUTH2_CLIENT_AUTH", "OAUTH2_SCOPE", "OAUTH2_AUDIENCE"];

/** The environment of the one function in a template. */
function variables(template: Template): Record<string, string> {
  const [, fn] = onlyResource(template, "AWS::Lambda::Function");
  return (fn.Environment as { Variables: Record<string, string> }).Variables;
}

/** The environment of each function, by the credential it refreshes. */
function variablesByCredential(template: Template): Map<string, Record<string, string>> {
  return new Map(
    resources(template, "AWS::Lambda::Function").map(([, fn]) => {
      const env = (fn.Environment as { Variables: Record<string, string> }).Variables;
      return [env.CREDENTIAL_NAME!, env];
    }),
  );
}

const alarmMetrics = (template: Template) => resources(template, "AWS::CloudWatch::Alarm").map(([, alarm]) => alarm.MetricName);

describe("OAuth2 options of the construct", () => {
  it("passes client authentication, scope and audience to the function", () => {
    const { template, stack } = refresherStack({
      dialect: "oauth2",
      endpointUrl: AUTH,
      oauth2ClientAuth: "client_secret_basic",
      oauth2Scope: "openid offline_access",
      oauth2Audience: "https://api.example.com/",
    });
    expect(variables(template)).toMatchObject({
      TOKEN_DIALECT: "oauth2",
      OAUTH2_CLIENT_AUTH: "client_secret_basic",
      OAUTH2_SCOPE: "openid offline_access",
      OAUTH2_AUDIENCE: "https://api.example.com/",
    });
    expect(nagFindings(stack)).toEqual([]);
  });

  it("sets none of the three when they are not given, so the client secret's fields or the handler's default apply", () => {
    const { template } = refresherStack({ dialect: "oauth2", endpointUrl: AUTH, oauth2Scope: "read" });
    const env = variables(template);
    expect(env.OAUTH2_SCOPE).toBe("read");
    expect(Object.keys(env)).not.toContain("OAUTH2_CLIENT_AUTH");
    expect(Object.keys(env)).not.toContain("OAUTH2_AUDIENCE");
  });

  it("gives an IoT function none of the OAuth2 variables", () => {
    const env = variables(refresherStack().template);
    expect(Object.keys(env).filter((name) => OAUTH2_VARIABLES.includes(name))).toEqual([]);
  });

  const iotOnly: [keyof TokenRefresherProps, Partial<TokenRefresherProps>][] = [
    ["oauth2TokenPath", { oauth2TokenPath: "/token" }],
    ["oauth2DefaultExpiresIn", { oauth2DefaultExpiresIn: Duration.hours(1) }],
    ["oauth2ClientAuth", { oauth2ClientAuth: "client_secret_basic" }],
    ["oauth2Scope", { oauth2Scope: "read" }],
    ["oauth2Audience", { oauth2Audience: "https://api.example.com" }],
  ];
  it.each(iotOnly)("rejects %s on the iot dialect", (prop, props) => {
    expect(() => new TokenRefresher(newStack(), "Refresher", { ...IOT_PROPS, ...props })).toThrow(
      `TokenRefresher Test/Refresher: ${prop} is only used by the oauth2 and client_credentials dialects (dialect is iot)`,
    );
  });

  const bad: [string, Partial<TokenRefresherProps>, string][] = [
    [
      "an unknown client authentication",
      { oauth2ClientAuth: "private_key_jwt" as TokenRefresherProps["oauth2ClientAuth"] },
      'oauth2ClientAuth must be one of client_secret_post, client_secret_basic, got "private_key_jwt"',
    ],
    ["a scope with a double space", { oauth2Scope: "read  write" }, 'oauth2Scope must be at most 1024 characters of scope tokens (visible ASCII, no " or \\) separated by single spaces, got "read  write"'],
    ["an empty scope", { oauth2Scope: "" }, 'oauth2Scope must be at most 1024 characters of scope tokens'],
    ["a scope that is too long", { oauth2Scope: "s".repeat(MAX_SCOPE_CHARS + 1) }, `oauth2Scope must be at most ${MAX_SCOPE_CHARS} characters of scope tokens`],
    ["an audience with a space", { oauth2Audience: "my api" }, 'oauth2Audience must be at most 1024 characters of visible ASCII without spaces, got "my api"'],
    ["a scope only known at deploy time", { oauth2Scope: Lazy.string({ produce: () => "read" }) }, "oauth2Scope must be known at synth, not a token"],
  ];
  it.each(bad)("rejects %s, naming the prop", (_case, props, message) => {
    for (const dialect of ["oauth2", "client_credentials"] as const) {
      expect(() => new TokenRefresher(newStack(), "Refresher", { ...IOT_PROPS, dialect, endpointUrl: AUTH, ...props })).toThrow(
        `TokenRefresher Test/Refresher: ${message}`,
      );
    }
  });
});

describe("the client_credentials dialect in the construct", () => {
  it("configures the function like oauth2: token path, default lifetime, the OAuth2 options and the OAuth2 placeholder", () => {
    const { template, stack } = refresherStack({ dialect: "client_credentials", endpointUrl: AUTH, oauth2Audience: "https://api.example.com" });
    expect(variables(template)).toMatchObject({
      TOKEN_DIALECT: "client_credentials",
      OAUTH2_TOKEN_PATH: DEFAULT_OAUTH2_TOKEN_PATH,
      DEFAULT_EXPIRES_IN_SECONDS: "3600",
      OAUTH2_AUDIENCE: "https://api.example.com",
    });
    template.hasResourceProperties("AWS::SecretsManager::Secret", { SecretString: JSON.stringify({ clientId: "", clientSecret: "" }) });
    expect(nagFindings(stack)).toEqual([]);
  });

  it("creates no RefreshTokenTtl alarm (there is no refresh token) and leaves it out of ALARM_NAMES and the dashboard", () => {
    const iot = refresherStack({ dashboard: true });
    const { template, refresher } = refresherStack({ dialect: "client_credentials", endpointUrl: AUTH, dashboard: true });
    expect(alarmMetrics(iot.template)).toContain(METRIC.refreshTokenTtl);
    expect(alarmMetrics(template)).not.toContain(METRIC.refreshTokenTtl);
    expect(alarmMetrics(template)).toHaveLength(alarmMetrics(iot.template).length - 1);
    expect(refresher.refreshTokenTtlAlarm).toBeUndefined();
    expect(refresher.alarmNames).toHaveLength(refresher.alarms.length);
    expect(refresher.alarmNames).not.toContain("Test-plant-a-RefreshTokenTtl");
    expect(variables(template).ALARM_NAMES).toBe(refresher.alarmNames.join(","));
    expect(variables(iot.template).ALARM_NAMES).toContain("Test-plant-a-RefreshTokenTtl");
    // The IoT dashboard's last row is the refresh token's TTL; client_credentials has no such row.
    expect(refresher.dashboardWidgets()).toHaveLength(iot.refresher.dashboardWidgets().length - 1);
    const body = allStrings(onlyResource(template, "AWS::CloudWatch::Dashboard")[1].DashboardBody).join("");
    expect(body).not.toContain(METRIC.refreshTokenTtl);
    expect(body).toContain(METRIC.accessTokenTtl);
  });

  it("rejects RefreshTokenTtl alarm settings, but accepts switching the alarm off", () => {
    const props: TokenRefresherProps = { ...IOT_PROPS, dialect: "client_credentials", endpointUrl: AUTH };
    expect(() => new TokenRefresher(newStack(), "Refresher", { ...props, alarms: { refreshTokenTtl: { threshold: Duration.days(7) } } })).toThrow(
      "TokenRefresher Test/Refresher: alarms.refreshTokenTtl.threshold is only used by the iot and oauth2 dialects (dialect is client_credentials), got 7 days",
    );
    const refresher = new TokenRefresher(newStack(), "Refresher", { ...props, alarms: { refreshTokenTtl: { enabled: false } } });
    expect(refresher.refreshTokenTtlAlarm).toBeUndefined();
  });
});

function problemsOf(raw: unknown): string[] {
  try {
    parseAppConfig(raw, "test");
  } catch (error) {
    if (error instanceof AppConfigError) return [...error.problems];
    throw error;
  }
  throw new Error("expected the configuration to be rejected");
}

function buildStack(raw: unknown) {
  const config = typeof raw === "string" ? loadAppConfig({ tryGetContext: (key) => (key === "configFile" ? raw : undefined) }, (path) => readFileSync(path, "utf8")) : parseAppConfig(raw, "test");
  const stack = new TokenRefresherStack(newApp(), "Stack", { config, env: ENV });
  Aspects.of(stack).add(new AwsSolutionsChecks({ reports: false }));
  return { stack, template: Template.fromStack(stack) };
}

const IOT = { name: "plant-a", endpointUrl: "https://iot.example.com:8743" };
const SERVICE = { name: "billing", dialect: "client_credentials", endpointUrl: AUTH };

describe("OAuth2 fields of the CDK configuration file", () => {
  it("accepts client authentication, scope and audience, per credential or in defaults", () => {
    const config = parseAppConfig(
      {
        defaults: { oauth2Scope: "read" },
        credentials: [
          { ...SERVICE, oauth2ClientAuth: "client_secret_basic", oauth2Audience: "https://billing.example.com/api" },
          { name: "erp", dialect: "oauth2", endpointUrl: AUTH, oauth2ClientAuth: "client_secret_post", oauth2Scope: "erp.read erp.write" },
        ],
      },
      "test",
    );
    expect(config.credentials.map((c) => [c.name, c.oauth2ClientAuth, c.oauth2Scope, c.oauth2Audience])).toEqual([
      ["billing", "client_secret_basic", "read", "https://billing.example.com/api"],
      ["erp", "client_secret_post", "erp.read erp.write", undefined],
    ]);
  });

  it("names bad values", () => {
    expect(
      problemsOf({
        defaults: { oauth2Audience: "two words" },
        credentials: [{ ...SERVICE, oauth2ClientAuth: "basic", oauth2Scope: 'say "hi"' }],
      }),
    ).toEqual([
      'defaults.oauth2Audience must be at most 1024 characters of visible ASCII without spaces, got "two words"',
      'credentials[0].oauth2ClientAuth must be one of client_secret_post, client_secret_basic, got "basic"',
      'credentials[0].oauth2Scope must be at most 1024 characters of scope tokens (visible ASCII, no " or \\) separated by single spaces, got "say \\"hi\\""',
    ]);
    expect(problemsOf({ credentials: [{ ...SERVICE, oauth2Scope: ["read"] }] })).toEqual(['credentials[0].oauth2Scope must be at most 1024 characters of scope tokens (visible ASCII, no " or \\) separated by single spaces, got ["read"]']);
  });

  it("rejects every oauth2* field on an iot credential, and a RefreshTokenTtl threshold on a client_credentials one", () => {
    const fields = { oauth2TokenPath: "/token", oauth2DefaultExpiresInSeconds: 600, oauth2ClientAuth: "client_secret_basic", oauth2Scope: "read", oauth2Audience: "api" };
    expect(problemsOf({ credentials: [{ ...IOT, ...fields }] })).toEqual(
      Object.entries(fields).map(([field, value]) => `credentials[0].${field} is only used by the oauth2 and client_credentials dialects (dialect is iot), got ${JSON.stringify(value)}`),
    );
    expect(problemsOf({ credentials: [{ ...SERVICE, refreshTokenTtlThresholdHours: 24 }] })).toEqual([
      "credentials[0].refreshTokenTtlThresholdHours is only used by the iot and oauth2 dialects (dialect is client_credentials), got 24",
    ]);
  });

  it("passes the fields to the construct; defaults reach only the credentials whose dialect uses them", () => {
    const { stack, template } = buildStack({
      defaults: { oauth2TokenPath: "/oauth2/token", oauth2Scope: "read", refreshTokenTtlThresholdHours: 24 },
      credentials: [IOT, { ...SERVICE, oauth2ClientAuth: "client_secret_basic", oauth2Audience: "https://billing.example.com/api" }],
    });
    const env = variablesByCredential(template);
    expect(env.get("billing")).toMatchObject({
      TOKEN_DIALECT: "client_credentials",
      OAUTH2_TOKEN_PATH: "/oauth2/token",
      OAUTH2_CLIENT_AUTH: "client_secret_basic",
      OAUTH2_SCOPE: "read",
      OAUTH2_AUDIENCE: "https://billing.example.com/api",
    });
    expect(Object.keys(env.get("plant-a")!).filter((name) => OAUTH2_VARIABLES.includes(name))).toEqual([]);
    // The defaults' RefreshTokenTtl threshold applies to plant-a; billing has no such alarm.
    const refreshTokenTtl = resources(template, "AWS::CloudWatch::Alarm").filter(([, alarm]) => alarm.MetricName === METRIC.refreshTokenTtl);
    expect(refreshTokenTtl.map(([, alarm]) => [alarm.AlarmName, alarm.Threshold])).toEqual([["Stack-plant-a-RefreshTokenTtl", 86_400]]);
    expect(nagFindings(stack)).toEqual([]);
  });

  it("synthesizes the example configuration file's client_credentials credential", () => {
    const { stack, template } = buildStack("infra/config.example.json");
    expect(variablesByCredential(template).get("billing-api")).toMatchObject({
      TOKEN_DIALECT: "client_credentials",
      OAUTH2_TOKEN_PATH: "/oauth2/token",
      OAUTH2_CLIENT_AUTH: "client_secret_basic",
      OAUTH2_SCOPE: "billing.read billing.write",
      OAUTH2_AUDIENCE: "https://billing.example.com/api",
    });
    const refreshTokenTtl = resources(template, "AWS::CloudWatch::Alarm").filter(([, alarm]) => alarm.MetricName === METRIC.refreshTokenTtl);
    expect(refreshTokenTtl.map(([, alarm]) => alarm.AlarmName).sort()).toEqual(["Stack-erp-oauth2-RefreshTokenTtl", "Stack-plant-a-iot-RefreshTokenTtl"]);
    expect(nagFindings(stack)).toEqual([]);
  });
});
