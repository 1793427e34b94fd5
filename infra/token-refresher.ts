import { fileURLToPath } from "node:url";
import { Duration, RemovalPolicy, SecretValue, Stack, Token } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as kms from "aws-cdk-lib/aws-kms";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { SqsDestination } from "aws-cdk-lib/aws-lambda-destinations";
import { NodejsFunction, OutputFormat } from "aws-cdk-lib/aws-lambda-nodejs";
import * as logs from "aws-cdk-lib/aws-logs";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import * as sns from "aws-cdk-lib/aws-sns";
import { EmailSubscription } from "aws-cdk-lib/aws-sns-subscriptions";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { NagSuppressions } from "cdk-nag";
import { Construct } from "constructs";
import { DIALECTS, loadConfig, type DialectName } from "../lambda/config.js";
import { DIMENSION, EVENT_SOURCE, METRIC } from "../lambda/telemetry/names.js";

/** Token API dialect: Huawei IoT northbound (`iot`) or an OAuth2 `refresh_token` grant (`oauth2`). */
export type TokenDialect = DialectName;

/** Namespace the handler uses when METRICS_NAMESPACE is unset (read from the handler's own parser). */
export const DEFAULT_METRICS_NAMESPACE = handlerDefaults().metricsNamespace;

/**
 * Memory of the refresher function, from a measurement of the bundled handler (SDK bundled,
 * `--enable-source-maps`) doing a mutual-TLS login + two refreshes against the IoT simulator and
 * moto: peak RSS 122–137 MB (about 35 MB of it is the source map). 128 MB would leave no headroom,
 * so 256 MB (also twice the CPU share, for the TLS handshake). See infra/README-section.md.
 */
export const DEFAULT_MEMORY_MB = 256;

/** Lambda timeout; the handler's run budget and lease are derived from it (see {@link TokenRefresher}). */
export const DEFAULT_TIMEOUT = Duration.seconds(40);

/** Time the function keeps after the run budget for the final write, the event and the report. */
const RUN_BUDGET_MARGIN = Duration.seconds(15);
/** How much longer than the function timeout a run's lease on the token secret lasts. */
const LEASE_MARGIN = Duration.seconds(60);

const CREDENTIAL_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const NAMESPACE = /^[A-Za-z0-9 ._/#:-]{1,255}$/;

/** The handler's defaults, from `lambda/config.ts` itself so the two never drift apart. */
function handlerDefaults() {
  return loadConfig({ CREDENTIAL_NAME: "x", CLIENT_SECRET_ID: "x", TOKEN_SECRET_ID: "x", ENDPOINT_URL: "https://x.invalid" });
}

export interface TokenRefresherProps {
  /**
   * Name of the credential: the `Credential` metric dimension, the `credential` field of events and
   * part of the alarm names. Letters, digits, `_`, `.`, `-`; 1–64 characters; unique per stack.
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
   * OAuth2 token path (or absolute URL) resolved against `endpointUrl`. Only for the `oauth2` dialect.
   * @default "/api/v1/oauth2/token" (the handler's default)
   */
  readonly oauth2TokenPath?: string;

  /**
   * Lifetime assumed when an OAuth2 token answer has no `expires_in`. Only for the `oauth2` dialect.
   * @default Duration.hours(1) (the handler's default)
   */
  readonly oauth2DefaultExpiresIn?: Duration;

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
   * Lambda timeout. The handler's run budget (`RUN_BUDGET_MS`) is the timeout minus 15 s and its
   * lease (`LEASE_SECONDS`) the timeout plus 60 s, so a live run never loses its lease and a crashed
   * run's lease expires before the next run or the one after. 20 s to 15 min, shorter than the
   * schedule interval.
   * @default Duration.seconds(40) (run budget 25 s, lease 100 s)
   */
  readonly timeout?: Duration;

  /**
   * Timeout of one HTTP attempt against the token API (`HTTP_TIMEOUT_MS`); at most the run budget.
   * @default Duration.seconds(5) (the handler's default)
   */
  readonly httpTimeout?: Duration;

  /**
   * Client secret to use (read only by the refresher): IoT `{"appId","secret"}`, OAuth2
   * `{"clientId","clientSecret"}`, optional PEM `caCertificate`, `clientCertificate`, `clientKey`.
   * Import a secret encrypted with a customer-managed key with `Secret.fromSecretAttributes({ encryptionKey })`
   * so the function gets `kms:Decrypt` on it.
   * @default - a new secret holding a placeholder with empty fields, for you to fill after deploying
   */
  readonly clientSecret?: secretsmanager.ISecret;

  /**
   * Token secret to use (written by the refresher, read by consumers). Must hold valid JSON; `{}`
   * means "no token pair yet".
   * @default - a new secret holding `{}`
   */
  readonly tokenSecret?: secretsmanager.ISecret;

  /**
   * Customer-managed KMS key for the secrets this construct creates (not for imported ones).
   * The function gets `kms:Decrypt` (and `kms:GenerateDataKey` for the token secret) through
   * Secrets Manager only; `grantRead` gives consumers `kms:Decrypt` through Secrets Manager.
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
   * SNS topic for every alarm of this credential (ALARM and OK). Pass your on-call topic; several
   * refreshers can share one.
   * @default - a new topic (SSL-only publishing)
   */
  readonly alarmTopic?: sns.ITopic;

  /**
   * E-mail address subscribed to the alarm topic (the address must confirm the subscription).
   * @default - no subscription
   */
  readonly alarmEmail?: string;

  /**
   * Reserved concurrency of the function. 1 keeps scheduled runs of one credential from overlapping
   * (the token secret's lease still guards against a manual run). `false` or `0` reserves nothing:
   * needed in new accounts whose concurrency quota is 10, because Lambda keeps 10 unreserved and
   * such an account cannot reserve any (the deployment fails otherwise).
   * @default 1
   */
  readonly reservedConcurrency?: number | false;

  /**
   * The `AccessTokenTtl` alarm fires when the access token has less validity left than this, or when
   * no run reports it (the refresher stopped). Must be shorter than `refreshWindow`.
   * @default Duration.minutes(10)
   */
  readonly accessTokenTtlThreshold?: Duration;

  /**
   * CloudWatch namespace of the refresher's metrics (`METRICS_NAMESPACE`).
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
   * @default 256 (measured peak RSS 122–137 MB; see infra/README-section.md)
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

/** Alarm settings shared by the alarm helpers. */
interface AlarmSpec {
  readonly metric: cloudwatch.IMetric;
  readonly threshold: number;
  readonly comparisonOperator: cloudwatch.ComparisonOperator;
  readonly evaluationPeriods: number;
  readonly datapointsToAlarm?: number;
  readonly treatMissingData: cloudwatch.TreatMissingData;
  readonly description: string;
}

const stackCredentials = new WeakMap<Stack, Set<string>>();

/**
 * One credential's refresher: an EventBridge-scheduled Lambda that refreshes the access token kept
 * in the token secret, the two secrets (created or imported), least-privilege IAM, the failure
 * queues and the on-call alarms. Several can live side by side in one stack.
 */
export class TokenRefresher extends Construct {
  readonly credentialName: string;
  readonly dialect: TokenDialect;
  readonly metricsNamespace: string;
  /** The refresher function (NodejsFunction, Node.js 22, arm64). */
  readonly function: lambda.Function;
  /** The function's execution role (least privilege; see the README's "Permissions"). */
  readonly role: iam.Role;
  readonly logGroup: logs.ILogGroup;
  /** Client secret (appId/secret or clientId/clientSecret); only the refresher reads it. */
  readonly clientSecret: secretsmanager.ISecret;
  /** Token secret (the token pair); consumers read it through {@link grantRead}. */
  readonly tokenSecret: secretsmanager.ISecret;
  readonly alarmTopic: sns.ITopic;
  /** The EventBridge rule that triggers the function. */
  readonly scheduleRule: events.Rule;
  /** The longest gap between two runs; also the period of the run-based alarms. */
  readonly scheduleInterval: Duration;
  /** Dead-letter queue of the schedule target: triggers EventBridge could not deliver. */
  readonly deadLetterQueue: sqs.Queue;
  /** On-failure destination of the asynchronous invocation: runs that threw (no retries). */
  readonly failureQueue: sqs.Queue;
  readonly credentialRejectedAlarm: cloudwatch.Alarm;
  readonly appFrozenAlarm: cloudwatch.Alarm;
  readonly refreshFailedAlarm: cloudwatch.Alarm;
  readonly accessTokenTtlAlarm: cloudwatch.Alarm;
  readonly functionErrorsAlarm: cloudwatch.Alarm;
  readonly deadLetterQueueAlarm: cloudwatch.Alarm;
  readonly failureQueueAlarm: cloudwatch.Alarm;
  /** Every alarm above, for dashboards or composite alarms. */
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: TokenRefresherProps) {
    super(scope, id);
    const settings = validate(this, props);
    const stack = Stack.of(this);
    this.credentialName = props.credentialName;
    this.dialect = settings.dialect;
    this.metricsNamespace = settings.metricsNamespace;
    this.scheduleInterval = settings.interval;

    // --- Secrets -----------------------------------------------------------------------------
    const removalPolicy = props.secretRemovalPolicy ?? RemovalPolicy.RETAIN;
    this.clientSecret =
      props.clientSecret ??
      new secretsmanager.Secret(this, "ClientSecret", {
        description: `token-refresher ${props.credentialName}: client credentials (${settings.dialect}); fill in after deploying, read only by the refresher`,
        // A placeholder, not a secret: CloudFormation writes it once; later deployments leave the filled-in value alone.
        secretStringValue: SecretValue.unsafePlainText(clientSecretPlaceholder(settings.dialect)),
        encryptionKey: props.encryptionKey,
        removalPolicy,
      });
    this.tokenSecret =
      props.tokenSecret ??
      new secretsmanager.Secret(this, "TokenSecret", {
        description: `token-refresher ${props.credentialName}: access/refresh token pair, written by the refresher, read by consumers (AWSCURRENT)`,
        // `{}` is "no token pair yet" to the handler; the refresher writes every later version.
        secretStringValue: SecretValue.unsafePlainText("{}"),
        encryptionKey: props.encryptionKey,
        removalPolicy,
      });

    // --- Queues for what could not run ---------------------------------------------------------
    const queueProps: sqs.QueueProps = {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    };
    this.deadLetterQueue = new sqs.Queue(this, "ScheduleDeadLetterQueue", queueProps);
    this.failureQueue = new sqs.Queue(this, "FailedInvocationQueue", queueProps);

    // --- Function --------------------------------------------------------------------------------
    this.logGroup = new logs.LogGroup(this, "LogGroup", {
      retention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
    });
    const role = (this.role = new iam.Role(this, "ServiceRole", {
      assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
      description: `token-refresher ${props.credentialName}: refresher function`,
    }));
    // Log streams of this function's own log group only (no logs:CreateLogGroup on *).
    this.logGroup.grantWrite(role);

    const eventBus = props.eventBus ?? events.EventBus.fromEventBusName(this, "DefaultEventBus", "default");
    const environment = this.environment(props, settings, eventBus);
    const root = fileURLToPath(new URL("..", import.meta.url));
    const fn = new NodejsFunction(this, "Function", {
      description: `token-refresher: refreshes the ${props.credentialName} access token (${settings.dialect})`,
      entry: fileURLToPath(new URL("../lambda/handler.ts", import.meta.url)),
      handler: "handler",
      projectRoot: root,
      depsLockFilePath: `${root}package-lock.json`,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: settings.memorySize,
      timeout: settings.timeout,
      role,
      logGroup: this.logGroup,
      environment,
      reservedConcurrentExecutions: settings.reservedConcurrency,
      // Expected failures return normally (metrics + event); the schedule is the retry.
      retryAttempts: 0,
      maxEventAge: settings.eventAge,
      onFailure: new SqsDestination(this.failureQueue),
      bundling: {
        format: OutputFormat.ESM,
        mainFields: ["module", "main"],
        // undici and parts of the SDK are CommonJS and require() Node built-ins; give the ESM bundle a require.
        banner: "import { createRequire as __trCreateRequire } from 'node:module'; const require = __trCreateRequire(import.meta.url);",
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        // Bundle the SDK we test against instead of the runtime's copy, whose version moves under us.
        bundleAwsSDK: true,
        externalModules: [],
      },
    });
    this.function = fn;

    // --- Least privilege -------------------------------------------------------------------------
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: "ReadClientSecret",
        actions: ["secretsmanager:GetSecretValue"],
        resources: [arnForPolicies(this.clientSecret)],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: "ReadWriteTokenSecret",
        actions: [
          "secretsmanager:DescribeSecret",
          "secretsmanager:GetSecretValue",
          "secretsmanager:PutSecretValue",
          "secretsmanager:UpdateSecretVersionStage",
        ],
        resources: [arnForPolicies(this.tokenSecret)],
      }),
    );
    const clientKey = this.clientSecret.encryptionKey;
    const tokenKey = this.tokenSecret.encryptionKey;
    if (tokenKey) {
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: "TokenSecretKey",
          actions: ["kms:Decrypt", "kms:GenerateDataKey"],
          resources: [tokenKey.keyArn],
          conditions: viaSecretsManager(stack),
        }),
      );
    }
    if (clientKey && clientKey !== tokenKey) {
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: "ClientSecretKey",
          actions: ["kms:Decrypt"],
          resources: [clientKey.keyArn],
          conditions: viaSecretsManager(stack),
        }),
      );
    }
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: "PublishRefreshEvents",
        actions: ["events:PutEvents"],
        resources: [eventBus.eventBusArn],
        conditions: { StringEquals: { "events:source": EVENT_SOURCE } },
      }),
    );

    // --- Schedule --------------------------------------------------------------------------------
    this.scheduleRule = new events.Rule(this, "Schedule", {
      description: `token-refresher: runs the ${props.credentialName} refresher`,
      schedule: settings.schedule,
      targets: [
        new targets.LambdaFunction(fn, {
          retryAttempts: 2,
          // A trigger older than one interval is superseded by the next one.
          maxEventAge: settings.eventAge,
          deadLetterQueue: this.deadLetterQueue,
        }),
      ],
    });

    // --- Alarms ----------------------------------------------------------------------------------
    if (props.alarmTopic) {
      this.alarmTopic = props.alarmTopic;
    } else {
      this.alarmTopic = new sns.Topic(this, "AlarmTopic", {
        displayName: `token-refresher ${props.credentialName} alarms`,
        enforceSSL: true,
      });
    }
    if (props.alarmEmail) this.alarmTopic.addSubscription(new EmailSubscription(props.alarmEmail));

    const name = props.credentialName;
    this.credentialRejectedAlarm = this.addFirstOccurrenceAlarm(
      "CredentialRejected",
      this.metricCredentialRejected(),
      `The platform rejected the ${name} credential (IoT 100208 after a fresh login, or OAuth2 invalid_grant/invalid_client). Check the client secret; an OAuth2 refresh token may need a new authorization.`,
    );
    this.appFrozenAlarm = this.addFirstOccurrenceAlarm(
      "AppFrozen",
      this.metricAppFrozen(),
      `The ${name} app is frozen on the platform (IoT 100247, usually arrears). Tokens cannot be refreshed until the account is settled.`,
    );
    this.refreshFailedAlarm = this.addRefreshFailedAlarm(name);
    this.accessTokenTtlAlarm = this.addAccessTokenTtlAlarm(name, settings.ttlThreshold);
    this.functionErrorsAlarm = this.addFunctionErrorsAlarm(name);
    this.deadLetterQueueAlarm = this.addQueueNotEmptyAlarm(
      "ScheduleDeadLetterQueue",
      this.deadLetterQueue,
      `EventBridge could not deliver a ${name} schedule trigger to the refresher function (permissions, throttling or a deleted function). The messages in the queue name the error.`,
    );
    this.failureQueueAlarm = this.addQueueNotEmptyAlarm(
      "FailedInvocationQueue",
      this.failureQueue,
      `A ${name} refresher invocation failed without returning (an unexpected error, a timeout or a stale trigger). Each message holds the invocation record with the error.`,
    );

    // CDK makes the function DependsOn both its role and the role's policy; the role is already implied
    // by the Role GetAtt (cfn-lint W3005). Keep the policy, so the first run has its permissions.
    const policy = role.node.tryFindChild("DefaultPolicy")?.node.defaultChild as iam.CfnPolicy;
    (fn.node.defaultChild as lambda.CfnFunction).addOverride("DependsOn", [stack.getLogicalId(policy)]);

    this.addNagSuppressions(props);
  }

  /**
   * Read access to the token secret (GetSecretValue, DescribeSecret) and, when it has a customer-managed
   * key, kms:Decrypt on that key through Secrets Manager only. Never the client secret. Both go into the
   * grantee's own policy (never the key policy, which would tie this stack to the consumer's).
   */
  grantRead(grantee: iam.IGrantable): iam.Grant {
    const grant = iam.Grant.addToPrincipalOrResource({
      grantee,
      actions: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
      resourceArns: [arnForPolicies(this.tokenSecret)],
      resource: this.tokenSecret,
    });
    const key = this.tokenSecret.encryptionKey;
    if (!key) return grant;
    const decrypt = iam.Grant.addToPrincipal({
      grantee,
      actions: ["kms:Decrypt"],
      resourceArns: [key.keyArn],
      conditions: viaSecretsManager(Stack.of(this)),
    });
    return grant.combine(decrypt);
  }

  /** A metric the handler emits, dimension `Credential` only, in this refresher's namespace. */
  metric(metricName: string, props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return new cloudwatch.Metric({
      statistic: cloudwatch.Stats.SUM,
      period: this.scheduleInterval,
      ...props,
      namespace: this.metricsNamespace,
      metricName,
      dimensionsMap: { [DIMENSION]: this.credentialName },
    });
  }

  /** Runs that stored a new token pair (Sum per schedule interval). */
  metricRefreshSucceeded(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.succeeded, props);
  }

  /** Runs that found the token not due, or another run busy (Sum). */
  metricRefreshSkipped(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.skipped, props);
  }

  /** Runs that failed, whatever the reason (including CredentialRejected and AppFrozen) (Sum). */
  metricRefreshFailed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.failed, props);
  }

  /** Runs whose credential the platform rejected (Sum). */
  metricCredentialRejected(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.credentialRejected, props);
  }

  /** Runs that found the app frozen (IoT 100247, arrears) (Sum). */
  metricAppFrozen(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.appFrozen, props);
  }

  /** Seconds of validity left on the stored access token after a run (Minimum). */
  metricAccessTokenTtl(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.accessTokenTtl, { statistic: cloudwatch.Stats.MINIMUM, ...props });
  }

  /** Duration of a run in ms (p99). */
  metricRefreshDuration(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.duration, { statistic: cloudwatch.Stats.p(99), ...props });
  }

  /** Pages on the first occurrence: these outcomes need a person, and retrying will not help. */
  private addFirstOccurrenceAlarm(kind: string, metric: cloudwatch.IMetric, description: string): cloudwatch.Alarm {
    return this.addAlarm(kind, {
      metric,
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      description,
    });
  }

  private addRefreshFailedAlarm(name: string): cloudwatch.Alarm {
    return this.addAlarm("RefreshFailed", {
      metric: this.metricRefreshFailed(),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      description: `The ${name} refresh failed on two consecutive runs. The function's log line and the "Token Refresh Failed" event name the outcome and error code.`,
    });
  }

  private addAccessTokenTtlAlarm(name: string, threshold: Duration): cloudwatch.Alarm {
    return this.addAlarm("AccessTokenTtl", {
      metric: this.metricAccessTokenTtl(),
      threshold: threshold.toSeconds(),
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      // Dead-man's switch: a refresher that stopped running reports nothing, and that pages too.
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      description: `The ${name} access token has less than ${threshold.toHumanString()} left, or no refresher run reported it for two schedule intervals (the refresher stopped). Consumers will soon get 401s.`,
    });
  }

  private addFunctionErrorsAlarm(name: string): cloudwatch.Alarm {
    return this.addAlarm("FunctionErrors", {
      metric: this.function.metricErrors({ period: this.scheduleInterval, statistic: cloudwatch.Stats.SUM }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      description: `The ${name} refresher function threw (bad configuration, a bug, or a timeout). Expected failures do not throw; see the function's log.`,
    });
  }

  private addQueueNotEmptyAlarm(kind: string, queue: sqs.IQueue, description: string): cloudwatch.Alarm {
    return this.addAlarm(`${kind}NotEmpty`, {
      metric: queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: cloudwatch.Stats.MAXIMUM }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      description,
    });
  }

  /** Creates an alarm that notifies the alarm topic on ALARM and on OK. */
  private addAlarm(kind: string, spec: AlarmSpec): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this, `${kind}Alarm`, {
      // Stack name + credential name are unique per account and region (credential names are unique per stack).
      alarmName: `${Stack.of(this).stackName}-${this.credentialName}-${kind}`,
      alarmDescription: `token-refresher ${this.credentialName}: ${spec.description}`,
      metric: spec.metric,
      threshold: spec.threshold,
      comparisonOperator: spec.comparisonOperator,
      evaluationPeriods: spec.evaluationPeriods,
      datapointsToAlarm: spec.datapointsToAlarm,
      treatMissingData: spec.treatMissingData,
    });
    const action = new SnsAction(this.alarmTopic);
    alarm.addAlarmAction(action);
    alarm.addOkAction(action);
    this.alarms.push(alarm);
    return alarm;
  }

  private environment(props: TokenRefresherProps, settings: Settings, eventBus: events.IEventBus): Record<string, string> {
    const env: Record<string, string> = {
      CREDENTIAL_NAME: props.credentialName,
      TOKEN_DIALECT: settings.dialect,
      CLIENT_SECRET_ID: secretId(this.clientSecret),
      TOKEN_SECRET_ID: secretId(this.tokenSecret),
      ENDPOINT_URL: props.endpointUrl,
      REFRESH_WINDOW_SECONDS: String(settings.refreshWindow.toSeconds()),
      HTTP_TIMEOUT_MS: String(settings.httpTimeout.toMilliseconds()),
      RUN_BUDGET_MS: String(settings.runBudget.toMilliseconds()),
      LEASE_SECONDS: String(settings.lease.toSeconds()),
      METRICS_NAMESPACE: settings.metricsNamespace,
      EVENT_BUS_NAME: eventBus.eventBusArn,
      NODE_OPTIONS: "--enable-source-maps",
    };
    if (settings.dialect === "oauth2") {
      env.OAUTH2_TOKEN_PATH = props.oauth2TokenPath ?? handlerDefaults().oauth2TokenPath;
      env.DEFAULT_EXPIRES_IN_SECONDS = String(settings.defaultExpiresIn.toSeconds());
    }
    // The handler's own parser must accept what we deploy (tokens stand in as placeholders).
    const probe = Object.fromEntries(
      Object.entries(env).map(([k, v]) => [k, Token.isUnresolved(v) ? (k === "ENDPOINT_URL" ? "https://token.invalid" : "token") : v]),
    );
    try {
      loadConfig(probe);
    } catch (error) {
      throw new Error(`TokenRefresher ${this.node.path}: the handler would reject this environment: ${(error as Error).message}`);
    }
    return env;
  }

  private addNagSuppressions(props: TokenRefresherProps): void {
    const secrets = [props.clientSecret ? undefined : this.clientSecret, props.tokenSecret ? undefined : this.tokenSecret];
    for (const secret of secrets) {
      if (!secret) continue;
      NagSuppressions.addResourceSuppressions(secret, [
        {
          id: "AwsSolutions-SMG4",
          reason:
            secret === this.tokenSecret
              ? "The refresher itself is this secret's rotation: it writes a new version on every refresh (compare-and-swap on AWSCURRENT). A Secrets Manager rotation Lambda would race it."
              : "The client credentials (appId/secret, clientId/clientSecret) are issued by the token provider's console; Secrets Manager cannot rotate them. They are replaced by hand when the provider rotates them.",
        },
      ]);
    }
    for (const queue of [this.deadLetterQueue, this.failureQueue]) {
      NagSuppressions.addResourceSuppressions(queue, [
        {
          id: "AwsSolutions-SQS3",
          reason:
            queue === this.deadLetterQueue
              ? "This queue is itself a dead-letter queue: the EventBridge schedule target's DLQ (cdk-nag only recognizes SQS redrive and Lambda DeadLetterConfig)."
              : "This queue is itself a dead-letter queue: the Lambda asynchronous on-failure destination (cdk-nag only recognizes SQS redrive and Lambda DeadLetterConfig).",
        },
      ]);
    }
    NagSuppressions.addResourceSuppressions(this.function, [
      {
        id: "AwsSolutions-L1",
        reason:
          "nodejs22.x is pinned on purpose: the handler and its bundled AWS SDK are tested on Node 22 and the build targets node22; moving to a newer runtime is a deliberate, tested change (nodejs22.x is supported by Lambda).",
      },
    ]);
    const wildcardArns = [this.clientSecret, this.tokenSecret].filter((s) => !s.secretFullArn).map((s) => `Resource::${s.secretArn}-??????`);
    if (wildcardArns.length > 0) {
      NagSuppressions.addResourceSuppressions(
        this.role,
        [
          {
            id: "AwsSolutions-IAM5",
            reason:
              "A secret imported by name has an unknown 6-character suffix that Secrets Manager appends to its ARN; `-??????` matches exactly that suffix and nothing else.",
            appliesTo: wildcardArns,
          },
        ],
        true,
      );
    }
  }
}

interface Settings {
  readonly dialect: TokenDialect;
  readonly schedule: events.Schedule;
  readonly interval: Duration;
  readonly eventAge: Duration;
  readonly refreshWindow: Duration;
  readonly timeout: Duration;
  readonly runBudget: Duration;
  readonly lease: Duration;
  readonly httpTimeout: Duration;
  readonly defaultExpiresIn: Duration;
  readonly ttlThreshold: Duration;
  readonly metricsNamespace: string;
  readonly memorySize: number;
  readonly reservedConcurrency: number | undefined;
}

/** Validates the props first (errors name the prop) and derives the settings. */
function validate(scope: Construct, props: TokenRefresherProps): Settings {
  const fail = (prop: string, problem: string): never => {
    throw new Error(`TokenRefresher ${scope.node.path}: ${prop} ${problem}`);
  };
  const seconds = (prop: string, value: Duration): number => {
    if (value.isUnresolved()) fail(prop, "must be a concrete duration, not a token");
    return value.toSeconds();
  };
  const defaults = handlerDefaults();

  const name = props.credentialName as unknown;
  if (typeof name !== "string" || Token.isUnresolved(name) || !CREDENTIAL_NAME.test(name)) {
    fail("credentialName", `must be 1-64 letters, digits, "_", "." or "-", got ${JSON.stringify(name)}`);
  }
  const dialect = props.dialect ?? "iot";
  if (!DIALECTS.includes(dialect)) fail("dialect", `must be one of ${DIALECTS.join(", ")}, got ${JSON.stringify(dialect)}`);

  const url = props.endpointUrl as unknown;
  if (typeof url !== "string" || url === "") fail("endpointUrl", "is required");
  if (!Token.isUnresolved(url)) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(url as string);
    } catch {
      fail("endpointUrl", `must be an https URL, got ${JSON.stringify(url)}`);
    }
    if (parsed!.protocol !== "https:") fail("endpointUrl", `must be an https URL, got ${JSON.stringify(url)}`);
    if (parsed!.username || parsed!.password) fail("endpointUrl", "must not contain credentials; they belong in the client secret");
  }
  if (props.oauth2TokenPath !== undefined) {
    if (dialect !== "oauth2") fail("oauth2TokenPath", `is only used by the oauth2 dialect (dialect is ${dialect})`);
    if (!/^(\/|https:\/\/)\S*$/.test(props.oauth2TokenPath)) fail("oauth2TokenPath", `must be a path starting with "/" or an https URL, got ${JSON.stringify(props.oauth2TokenPath)}`);
  }
  if (props.oauth2DefaultExpiresIn !== undefined && dialect !== "oauth2") {
    fail("oauth2DefaultExpiresIn", `is only used by the oauth2 dialect (dialect is ${dialect})`);
  }
  const defaultExpiresIn = props.oauth2DefaultExpiresIn ?? Duration.seconds(defaults.defaultExpiresInSeconds);
  const expiresS = seconds("oauth2DefaultExpiresIn", defaultExpiresIn);
  if (expiresS < 60 || expiresS > 31_536_000) fail("oauth2DefaultExpiresIn", "must be between 1 minute and 365 days");

  const schedule = props.schedule ?? events.Schedule.rate(Duration.minutes(5));
  const rate = parseRate(schedule.expressionString);
  const interval = props.scheduleInterval ?? rate;
  if (!interval) {
    return fail("scheduleInterval", `is required for the schedule ${schedule.expressionString} (only rate(...) schedules give their interval)`);
  }
  const intervalS = seconds("scheduleInterval", interval);
  if (intervalS < 60 || intervalS % 60 !== 0) fail("scheduleInterval", `must be a whole number of minutes, got ${interval.toHumanString()}`);
  // Alarms evaluate two intervals; CloudWatch allows at most one day of evaluation.
  if (intervalS > 12 * 3600) fail("schedule", `interval must be at most 12 hours, got ${interval.toHumanString()}`);

  const refreshWindow = props.refreshWindow ?? Duration.seconds(defaults.refreshWindowSeconds);
  const windowS = seconds("refreshWindow", refreshWindow);
  if (windowS <= intervalS) {
    fail("refreshWindow", `(${refreshWindow.toHumanString()}) must be longer than the schedule interval (${interval.toHumanString()}), or the token can expire between two runs`);
  }
  if (windowS > 86_400) fail("refreshWindow", "must be at most 1 day");

  const timeout = props.timeout ?? DEFAULT_TIMEOUT;
  const timeoutS = seconds("timeout", timeout);
  if (timeoutS < 20 || timeoutS > 900) fail("timeout", `must be between 20 seconds and 15 minutes, got ${timeout.toHumanString()}`);
  if (timeoutS >= intervalS) fail("timeout", `(${timeout.toHumanString()}) must be shorter than the schedule interval (${interval.toHumanString()})`);
  const runBudget = Duration.seconds(timeoutS - RUN_BUDGET_MARGIN.toSeconds());
  const lease = Duration.seconds(timeoutS + LEASE_MARGIN.toSeconds());

  const httpTimeout = props.httpTimeout ?? Duration.millis(defaults.httpTimeoutMs);
  if (httpTimeout.isUnresolved()) fail("httpTimeout", "must be a concrete duration, not a token");
  const httpMs = httpTimeout.toMilliseconds();
  if (httpMs < 100 || httpMs > runBudget.toMilliseconds()) {
    fail("httpTimeout", `must be between 100 ms and the run budget (timeout - 15 s = ${runBudget.toHumanString()}), got ${httpTimeout.toHumanString()}`);
  }

  const ttlThreshold = props.accessTokenTtlThreshold ?? Duration.minutes(10);
  const ttlS = seconds("accessTokenTtlThreshold", ttlThreshold);
  if (ttlS <= 0 || ttlS >= windowS) {
    fail("accessTokenTtlThreshold", `(${ttlThreshold.toHumanString()}) must be positive and shorter than refreshWindow (${refreshWindow.toHumanString()}), or the alarm fires on healthy runs`);
  }

  const reserved = props.reservedConcurrency ?? 1;
  if (reserved !== false && (!Number.isInteger(reserved) || reserved < 0)) {
    fail("reservedConcurrency", `must be false or a whole number >= 0, got ${JSON.stringify(reserved)}`);
  }
  const memorySize = props.memorySize ?? DEFAULT_MEMORY_MB;
  if (!Number.isInteger(memorySize) || memorySize < 128 || memorySize > 10_240) fail("memorySize", `must be a whole number of MB between 128 and 10240, got ${memorySize}`);

  const metricsNamespace = props.metricsNamespace ?? defaults.metricsNamespace;
  if (!NAMESPACE.test(metricsNamespace) || metricsNamespace.startsWith("AWS/")) {
    fail("metricsNamespace", `must be 1-255 characters of letters, digits, space and . _ / # : - and not start with "AWS/", got ${JSON.stringify(metricsNamespace)}`);
  }
  if (props.alarmEmail !== undefined && !Token.isUnresolved(props.alarmEmail) && !EMAIL.test(props.alarmEmail)) {
    fail("alarmEmail", `must be an e-mail address, got ${JSON.stringify(props.alarmEmail)}`);
  }
  if (props.clientSecret && props.tokenSecret && props.clientSecret.secretArn === props.tokenSecret.secretArn) {
    fail("tokenSecret", "must not be the client secret: consumers who can read the token secret must not be able to refresh");
  }
  if (props.encryptionKey && props.clientSecret && props.tokenSecret) {
    fail("encryptionKey", "only applies to secrets the construct creates, and both are imported: import them with Secret.fromSecretAttributes({ encryptionKey }) instead");
  }

  const stack = Stack.of(scope);
  const names = stackCredentials.get(stack) ?? new Set<string>();
  if (names.has(name as string)) fail("credentialName", `${JSON.stringify(name)} is already used by another TokenRefresher in stack ${stack.stackName}`);
  names.add(name as string);
  stackCredentials.set(stack, names);

  return {
    dialect,
    schedule,
    interval,
    // Lambda and EventBridge accept 60 s .. 6 h / 24 h.
    eventAge: Duration.seconds(Math.min(intervalS, 6 * 3600)),
    refreshWindow,
    timeout,
    runBudget,
    lease,
    httpTimeout,
    defaultExpiresIn,
    ttlThreshold,
    metricsNamespace,
    memorySize,
    reservedConcurrency: reserved === false || reserved === 0 ? undefined : reserved,
  };
}

/** The interval of a `rate(...)` expression, or undefined for cron and other expressions. */
function parseRate(expression: string): Duration | undefined {
  const match = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression);
  if (!match) return undefined;
  const value = Number(match[1]);
  const unit = match[2]!;
  if (unit.startsWith("minute")) return Duration.minutes(value);
  if (unit.startsWith("hour")) return Duration.hours(value);
  return Duration.days(value);
}

/** The id the handler calls Secrets Manager with: the full ARN, or the partial one (name without suffix), which Secrets Manager resolves. */
function secretId(secret: secretsmanager.ISecret): string {
  return secret.secretFullArn ?? secret.secretArn;
}

/** Condition limiting a KMS permission to use through Secrets Manager in the stack's region. */
function viaSecretsManager(stack: Stack): Record<string, Record<string, string>> {
  return { StringEquals: { "kms:ViaService": `secretsmanager.${stack.region}.amazonaws.com` } };
}

/** The ARN IAM statements use: the full ARN, or the partial ARN plus Secrets Manager's 6-character suffix. */
function arnForPolicies(secret: secretsmanager.ISecret): string {
  return secret.secretFullArn ?? `${secret.secretArn}-??????`;
}

/** The client secret's initial content: the dialect's fields, empty, for the operator to fill. */
export function clientSecretPlaceholder(dialect: TokenDialect): string {
  return JSON.stringify(dialect === "iot" ? { appId: "", secret: "" } : { clientId: "", clientSecret: "" });
}
