import { Duration, type RemovalPolicy } from "aws-cdk-lib";
import type * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import type * as ec2 from "aws-cdk-lib/aws-ec2";
import type * as events from "aws-cdk-lib/aws-events";
import type * as kms from "aws-cdk-lib/aws-kms";
import type * as logs from "aws-cdk-lib/aws-logs";
import type * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import type * as sns from "aws-cdk-lib/aws-sns";
import { SETTINGS } from "../../lambda/config/table.js";
import type { DialectName, OAuth2ClientAuth } from "../../lambda/settings.js";

/** How an OAuth2 client authenticates at the token endpoint (the `oauth2ClientAuth` prop). */
export type { OAuth2ClientAuth } from "../../lambda/settings.js";

/**
 * Token API dialect: Huawei IoT northbound (`iot`), an OAuth2 `refresh_token` grant (`oauth2`), or an
 * OAuth2 `client_credentials` grant (`client_credentials`: service-to-service tokens, no refresh token).
 */
export type TokenDialect = DialectName;

/** Lambda memory in MB (the settings table's default; docs/configuration.md). */
export const DEFAULT_MEMORY_MB: number = SETTINGS.memorySizeMb.default;

/** Lambda timeout; the handler's run budget and lease are derived from it (see {@link TokenRefresherProps.timeout}). */
export const DEFAULT_TIMEOUT = Duration.seconds(SETTINGS.timeoutSeconds.default);

/** The `AccessTokenTtl` alarm fires below this much remaining validity (and must stay below `refreshWindow`). */
export const DEFAULT_ACCESS_TOKEN_TTL_THRESHOLD = Duration.seconds(SETTINGS.accessTokenTtlThresholdSeconds.default);

/** The `RefreshTokenTtl` alarm fires when the refresh token has less than this left before it expires. */
export const DEFAULT_REFRESH_TOKEN_TTL_THRESHOLD = Duration.seconds(SETTINGS.refreshTokenTtlThresholdSeconds.default);

/**
 * Where every alarm description points: this package's runbook, which has one section per alarm. Set
 * `runbookUrl` to your own copy (a wiki page, the repository's web view).
 */
export const DEFAULT_RUNBOOK_URL: string = SETTINGS.runbookUrl.default;

/** Namespace of the metrics when `metricsNamespace` is unset. */
export const DEFAULT_METRICS_NAMESPACE: string = SETTINGS.metricsNamespace.default;

/** Settings every alarm of the construct accepts. */
export interface RefresherAlarmOptions {
  /**
   * Create this alarm.
   * @default true (false for `functionErrors`)
   */
  readonly enabled?: boolean;
  /**
   * Periods (of one schedule interval each; 5 minutes for the queue alarm) the alarm evaluates.
   * @default - the alarm's own (docs/construct.md, "Alarms")
   */
  readonly evaluationPeriods?: number;
  /**
   * Breaching periods among `evaluationPeriods` that raise the alarm.
   * @default - the alarm's own (docs/construct.md, "Alarms")
   */
  readonly datapointsToAlarm?: number;
}

/** An alarm on a count (runs, errors, messages): alarms when the count reaches the threshold. */
export interface CountAlarmOptions extends RefresherAlarmOptions {
  /**
   * Count per period at or above which the alarm fires.
   * @default 1
   */
  readonly threshold?: number;
}

/** The `AccessTokenTtl` alarm: fires below the threshold, and when no run reports (dead-man's switch). */
export interface AccessTokenTtlAlarmOptions extends RefresherAlarmOptions {
  /**
   * Remaining validity of the access token below which the alarm fires. Must be shorter than `refreshWindow`.
   * @default Duration.minutes(10)
   */
  readonly threshold?: Duration;
}

/**
 * The `RefreshTokenTtl` alarm: fires when the refresh token's known expiry comes near. Credentials
 * whose refresh token has no known lifetime (an OAuth2 server without `refresh_token_expires_in`)
 * report nothing, which does not alarm. Not created for the `client_credentials` dialect, which has no
 * refresh token (setting it there is an error, except `enabled: false`).
 */
export interface RefreshTokenTtlAlarmOptions extends RefresherAlarmOptions {
  /**
   * Time left before the refresh token expires below which the alarm fires.
   * @default Duration.days(3)
   */
  readonly threshold?: Duration;
}

/**
 * Per-alarm settings; every alarm exists unless switched off with `enabled: false` (or, for
 * `refreshTokenTtl`, the dialect has no refresh token), except `functionErrors`, which exists only with `enabled: true`.
 */
export interface TokenRefresherAlarms {
  /** Pages on the first run whose credential the platform rejected. */
  readonly credentialRejected?: CountAlarmOptions;
  /** Pages on the first run that found the app frozen (IoT 100247). */
  readonly appFrozen?: CountAlarmOptions;
  /** Pages on the first token pair the platform issued that could not be stored. */
  readonly pairDiscarded?: CountAlarmOptions;
  /** Runs that failed for any reason, on 2 consecutive schedule intervals by default. */
  readonly refreshFailed?: CountAlarmOptions;
  /** The stored access token runs short, or no run reports it. */
  readonly accessTokenTtl?: AccessTokenTtlAlarmOptions;
  /** The refresh token expires soon (IoT: refreshes have failed for weeks; OAuth2: a person must authorize again). */
  readonly refreshTokenTtl?: RefreshTokenTtlAlarmOptions;
  /**
   * The function threw or timed out (`AWS/Lambda` Errors). Off unless `enabled: true`: every failed
   * scheduled invocation also lands in the dead-letter queue, whose alarm pages (docs/cost.md); this
   * one adds the invocations made by hand (`aws lambda invoke`).
   */
  readonly functionErrors?: CountAlarmOptions;
  /** The dead-letter queue holds a message: a schedule trigger EventBridge could not deliver, or an invocation that failed without returning. */
  readonly deadLetterQueue?: CountAlarmOptions;
}

export interface TokenRefresherProps {
  /**
   * Name of the credential: the `Credential` metric dimension, the `credential` field of events, the
   * key of its item in the state table and part of the alarm names. Letters, digits, `_`, `.`, `-`;
   * 1–64 characters; unique per stack (and per state table).
   */
  readonly credentialName: string;

  /**
   * Token API dialect.
   * @default "iot"
   */
  readonly dialect?: TokenDialect;

  /**
   * Base URL of the token API, `https://` only, e.g. `https://iot.example.com:8743` (IoT) or the
   * OAuth2 server's origin.
   */
  readonly endpointUrl: string;

  /**
   * OAuth2 token path (or absolute URL) resolved against `endpointUrl`. Only for the `oauth2` and
   * `client_credentials` dialects.
   * @default "/api/v1/oauth2/token" (the handler's default)
   */
  readonly oauth2TokenPath?: string;

  /**
   * Lifetime assumed when an OAuth2 token answer has no `expires_in`. Only for the `oauth2` and
   * `client_credentials` dialects.
   * @default Duration.hours(1) (the handler's default)
   */
  readonly oauth2DefaultExpiresIn?: Duration;

  /**
   * How the client authenticates at the token endpoint: the form fields
   * `client_id`/`client_secret` (`client_secret_post`) or HTTP Basic (`client_secret_basic`, RFC 6749
   * §2.3.1). Only for the `oauth2` and `client_credentials` dialects; the client secret's `clientAuth`
   * field overrides it at run time.
   * @default - unset: the client secret's `clientAuth`, else "client_secret_post"
   */
  readonly oauth2ClientAuth?: OAuth2ClientAuth;

  /**
   * `scope` sent with every grant: space-separated scope tokens, at most 1 024
   * characters. Only for the `oauth2` and `client_credentials` dialects; the client secret's `scope`
   * field overrides it at run time.
   * @default - unset: the client secret's `scope`, else none is sent
   */
  readonly oauth2Scope?: string;

  /**
   * `audience` sent with every grant, e.g. the API's identifier URL; visible
   * ASCII without spaces, at most 1 024 characters. Only for the `oauth2` and `client_credentials`
   * dialects; the client secret's `audience` field overrides it at run time.
   * @default - unset: the client secret's `audience`, else none is sent
   */
  readonly oauth2Audience?: string;

  /**
   * When the refresher runs. A run that finds the token not yet due only reports its remaining
   * lifetime, so a frequent schedule is cheap.
   * @default Schedule.rate(Duration.minutes(5))
   */
  readonly schedule?: events.Schedule;

  /**
   * The longest gap between two runs: the alarm period and the bound for `refreshWindow`.
   * Needed only for `Schedule.cron(...)`/`Schedule.expression(...)`; a `rate(...)` schedule gives it.
   * @default - the schedule's rate
   */
  readonly scheduleInterval?: Duration;

  /**
   * Refresh when the access token has this much validity left or less. Must be longer than the
   * schedule interval, or the token could expire between two runs.
   * @default Duration.minutes(15)
   */
  readonly refreshWindow?: Duration;

  /**
   * Lambda timeout, split into three parts (docs/design.md, "Timeout: 40 s, split in three"): the run
   * budget (the timeout minus 15 s) for reading, the lease and the platform calls; then the last 15 s, in
   * which the handler retries the write of a pair the platform issued for as long as
   * `context.getRemainingTimeInMillis()` allows, and reports. The lease is the
   * timeout plus 60 s, so a live run never loses it. 20 s to 615 s, shorter than the schedule interval.
   * @default Duration.seconds(40) (run budget 25 s, lease 100 s)
   */
  readonly timeout?: Duration;

  /**
   * Timeout of one HTTP attempt against the token API; at most the run budget.
   * @default Duration.seconds(5) (the handler's default)
   */
  readonly httpTimeout?: Duration;

  /**
   * Client secret to use (read only by the refresher): IoT `{"appId","secret"}`, OAuth2
   * `{"clientId","clientSecret"}`, optional PEM `caCertificate`, `clientCertificate`, `clientKey`.
   * Import a secret encrypted with a customer-managed key with `Secret.fromSecretAttributes({ encryptionKey })`
   * so the function gets `kms:Decrypt` on it. An imported secret keeps its own resource policy.
   * @default - a new secret holding a placeholder with empty fields, for you to fill after deploying,
   * with a resource policy that denies `GetSecretValue` to all but the refresher and `operatorPrincipalArns`
   */
  readonly clientSecret?: secretsmanager.ISecret;

  /**
   * Token secret to use (written by the refresher, read by consumers). Must hold valid JSON; `{}`
   * means "no token pair yet". An imported secret keeps its own resource policy.
   * @default - a new secret holding `{}`, with a resource policy that denies every write to all but
   * the refresher and `operatorPrincipalArns`
   */
  readonly tokenSecret?: secretsmanager.ISecret;

  /**
   * IAM principals (role or user ARNs; `*` and `?` wildcards allowed, e.g. for IAM Identity Center
   * roles `arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Admin_*`)
   * that may, besides the refresher's role, read the client secret and write the token secret the
   * construct creates. Matched with `aws:PrincipalArn`, so a role's sessions count as the role.
   * List the administrators who run the CLI's `check`, `init`, `refresh` and `resume` (docs/security.md); `grantOperate` adds a role of this stack by itself.
   * @default - none: only the refresher (and the stack's CloudFormation execution role) pass
   */
  readonly operatorPrincipalArns?: string[];

  /**
   * Customer-managed KMS key for the secrets this construct creates (not for imported ones).
   * The function gets `kms:Decrypt` (and `kms:GenerateDataKey` for the token secret) through
   * Secrets Manager, for its own secrets only (`kms:EncryptionContext:SecretARN`).
   * @default - the AWS-managed key `aws/secretsmanager`
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * What happens to the secrets this construct creates when they leave the stack.
   * @default RemovalPolicy.RETAIN (they hold hand-entered credentials and, for OAuth2, a refresh
   * token that only a person can obtain again)
   */
  readonly secretRemovalPolicy?: RemovalPolicy;

  /**
   * DynamoDB table holding each credential's lease and operational state: partition key
   * `credential` (String), no sort key, TTL attribute `ttl`. Pass one to share it across stacks; a
   * table encrypted with a customer-managed key also needs the function's role (`role`) on that key.
   * @default - one table per stack, shared by every TokenRefresher in it (see {@link stateTableOf})
   */
  readonly stateTable?: dynamodb.ITable;

  /**
   * VPC to run the function in. It needs a route to the token API (a NAT gateway, which also gives
   * a fixed outbound address for platforms that allow-list IPs) and to Secrets Manager, DynamoDB and
   * EventBridge (NAT or VPC endpoints).
   * @default - not in a VPC
   */
  readonly vpc?: ec2.IVpc;

  /**
   * Subnets of `vpc` for the function.
   * @default - the VPC's private subnets with egress
   */
  readonly vpcSubnets?: ec2.SubnetSelection;

  /**
   * Security groups of the function in `vpc`.
   * @default - a new group that allows all outbound traffic and no inbound
   */
  readonly securityGroups?: ec2.ISecurityGroup[];

  /**
   * SNS topic for every alarm of this credential (ALARM and OK). Pass your on-call topic; several
   * refreshers can share one. Must not be set with `alarmActions`.
   * @default - the stack's token-refresher alarm topic (SSL-only publishing, output `AlarmTopicArn`),
   * created by the first refresher given no topic and shared by every other one; none with `alarmActions`
   */
  readonly alarmTopic?: sns.ITopic;

  /**
   * E-mail address subscribed to the alarm topic (the address must confirm the subscription). Of a
   * shared topic: it gets every credential's alarms; refreshers naming the same address subscribe it once.
   * @default - no subscription
   */
  readonly alarmEmail?: string;

  /**
   * Actions of every alarm on ALARM (any `IAlarmAction`: SNS, Lambda, SSM OpsItem, ...). Replaces
   * the topic: no topic is created and `alarmTopic`/`alarmEmail` must not be set.
   * @default - one `SnsAction` on the alarm topic
   */
  readonly alarmActions?: cloudwatch.IAlarmAction[];

  /**
   * Actions of every alarm on its return to OK.
   * @default - the ALARM actions
   */
  readonly okActions?: cloudwatch.IAlarmAction[];

  /**
   * Switch single alarms off, or change their threshold and evaluation.
   * @default - every alarm, with the settings in docs/construct.md, "Alarms"
   */
  readonly alarms?: TokenRefresherAlarms;

  /**
   * Runbook every alarm description links to, followed by the alarm's section name.
   * @default DEFAULT_RUNBOOK_URL (this package's runbook, docs/runbook.md)
   */
  readonly runbookUrl?: string;

  /**
   * Create a CloudWatch dashboard for this credential: access token TTL, run outcomes, run duration
   * and the alarms. {@link TokenRefresher.dashboardWidgets} gives the same widgets for your own dashboard.
   * @default false
   */
  readonly dashboard?: boolean;

  /**
   * Emit the run-count and duration metrics (`RefreshSucceeded`, `RefreshSkipped`,
   * `RefreshDuration`), and the failure counts as zeros on healthy runs. Off, a run sends only what
   * the alarms read: `AccessTokenTtl`, a failure count as 1 when that failure happened, and
   * `RefreshTokenTtl` while it is below twice its alarm's threshold; the log line carries every value
   * either way. Each metric costs for every hour it is sent (docs/cost.md). Turn it on to graph or
   * alarm on the run counts yourself (`metricRefreshSucceeded()`, ...).
   * @default - the `dashboard` prop (off unless the construct draws a dashboard)
   */
  readonly detailedMetrics?: boolean;

  /**
   * Reserved concurrency of the function. Not needed for correctness: the lease in the state table
   * lets one run per credential call the platform, whatever runs at the same time. Reserving fails
   * the deployment in accounts whose concurrency quota is 10 (Lambda keeps 10 unreserved).
   * @default - none
   */
  readonly reservedConcurrency?: number;

  /**
   * CloudWatch namespace of the refresher's metrics.
   * @default "TokenRefresher"
   */
  readonly metricsNamespace?: string;

  /**
   * Event bus for `Token Refreshed` / `Token Refresh Failed` events (source `token-refresher`).
   * @default - the account's default event bus
   */
  readonly eventBus?: events.IEventBus;

  /**
   * Memory of the function in MB.
   * @default 256 (docs/design.md, "Memory: 256 MB": the peak RSS `npm run bench` measures)
   */
  readonly memorySize?: number;

  /**
   * Retention of the function's log group. One JSON line per run (about 9 000 a month at the default
   * schedule) is the audit trail of every refresh; three months covers a quarter's incident reviews
   * and three lifetimes of an IoT refresh token, for a few cents.
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;
}
