import { Annotations, Duration, Lazy, RemovalPolicy, SecretValue, Stack, Token } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import * as logs from "aws-cdk-lib/aws-logs";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import type * as sns from "aws-cdk-lib/aws-sns";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { usesRefreshToken } from "../../lambda/settings.js";
import { METRIC } from "../../lambda/telemetry/names.js";
import { alarmTopicOf, subscribeOnce } from "./alarm-topic.js";
import { addAlarms, enabledAlarmNames, type AlarmKind } from "./alarms.js";
import { addDashboard, dashboardWidgets, type DashboardInputs } from "./dashboard.js";
import { refresherEnvironment } from "./environment.js";
import { createRefresherFunction } from "./function.js";
import { refresherMetric } from "./metrics.js";
import { suppressNag, type NagSuppression } from "./nag.js";
import { scheduleRuleName } from "./names.js";
import { addCredentialOutputs } from "./outputs.js";
import {
  arnForPolicies,
  exemptPrincipalArns,
  grantFunctionAccess,
  grantOperateCredential,
  grantReadTokenSecret,
  restrictClientSecret,
  restrictTokenSecret,
  vpcNetworkInterfaceStatement,
} from "./policies.js";
import type { TokenDialect, TokenRefresherProps } from "./props.js";
import { stateTableOf } from "./state-table.js";
import { validate, type Settings } from "./validate.js";

export * from "./props.js";
export type { AlarmKind } from "./alarms.js";
export { stateTableOf } from "./state-table.js";
// The fleet construct (docs/fleet.md) ships in the same entry, token-refresher/cdk.
export * from "../fleet/index.js";

/**
 * One credential's refresher: an EventBridge-scheduled Lambda that refreshes the access token kept
 * in the token secret, the two secrets (created with resource policies, or imported), its item in the
 * stack's state table, least-privilege IAM, the dead-letter queue, the on-call alarms (to the stack's
 * alarm topic unless given one) and, on request, a dashboard, and the stack outputs the runbook reads.
 * Several can live side by side in one stack.
 */
export class TokenRefresher extends Construct {
  /** The credential's name: the `Credential` metric dimension and the key of its state item. */
  readonly credentialName: string;
  /** The token API dialect. */
  readonly dialect: TokenDialect;
  /** CloudWatch namespace of the refresher's metrics. */
  readonly metricsNamespace: string;
  /** The longest gap between two runs; also the period of the run-based alarms. */
  readonly scheduleInterval: Duration;
  /** Client secret (appId/secret or clientId/clientSecret); only the refresher and the operators read it. */
  readonly clientSecret: secretsmanager.ISecret;
  /** Token secret (the token pair); consumers read it through {@link grantRead}. */
  readonly tokenSecret: secretsmanager.ISecret;
  /** The table holding this credential's lease and state (shared by the stack's refreshers). */
  readonly stateTable: dynamodb.ITable;
  /** The bus the function publishes `Token Refreshed` / `Token Refresh Failed` to. */
  readonly eventBus: events.IEventBus;
  /**
   * Dead-letter queue of both the schedule target (triggers EventBridge could not deliver) and the
   * asynchronous invocation (its on-failure destination: runs that threw or timed out, no retries).
   */
  readonly deadLetterQueue: sqs.Queue;
  /** The function's log group: one JSON line per run. */
  readonly logGroup: logs.ILogGroup;
  /** The function's execution role (least privilege; docs/construct.md, "Permissions"). */
  readonly role: iam.Role;
  /** The refresher function (Node.js 22, arm64). */
  readonly function: lambda.Function;
  /** The EventBridge rule that triggers the function, named `<stack>-<credential>-schedule` (`token-refresher pause` disables it). */
  readonly scheduleRule: events.Rule;
  /** The schedule rule's name, also in the function's environment (docs/configuration.md). */
  readonly scheduleRuleName: string;
  /** The topic every alarm notifies (`alarmTopic`, or the stack's shared one); undefined when `alarmActions` replaces it. */
  readonly alarmTopic?: sns.ITopic;
  /** The `CredentialRejected` alarm; undefined when switched off. */
  readonly credentialRejectedAlarm?: cloudwatch.Alarm;
  /** The `AppFrozen` alarm; undefined when switched off. */
  readonly appFrozenAlarm?: cloudwatch.Alarm;
  /** The `PairDiscarded` alarm; undefined when switched off. */
  readonly pairDiscardedAlarm?: cloudwatch.Alarm;
  /** The `RefreshFailed` alarm; undefined when switched off. */
  readonly refreshFailedAlarm?: cloudwatch.Alarm;
  /** The `AccessTokenTtl` alarm; undefined when switched off. */
  readonly accessTokenTtlAlarm?: cloudwatch.Alarm;
  /** The `RefreshTokenTtl` alarm; undefined when switched off, and for `client_credentials` (no refresh token). */
  readonly refreshTokenTtlAlarm?: cloudwatch.Alarm;
  /** The `FunctionErrors` alarm; undefined when switched off. */
  readonly functionErrorsAlarm?: cloudwatch.Alarm;
  /** The `DeadLetterQueueNotEmpty` alarm; undefined when switched off. */
  readonly deadLetterQueueAlarm?: cloudwatch.Alarm;
  /** Every enabled alarm, for dashboards or composite alarms (`token-refresher pause` switches their actions off). */
  readonly alarms: readonly cloudwatch.Alarm[];
  /** The enabled alarms' names, also in the function's environment (docs/configuration.md). */
  readonly alarmNames: readonly string[];
  /** The credential's dashboard, with `dashboard: true`. */
  readonly dashboard?: cloudwatch.Dashboard;
  /** The AccessTokenTtl alarm's threshold, drawn on the dashboard. */
  private readonly accessTokenTtlThreshold?: Duration;
  /** The RefreshTokenTtl alarm's threshold, drawn on the dashboard. */
  private readonly refreshTokenTtlThreshold?: Duration;
  /** Operators {@link grantOperate} lets through the created secrets' resource policies, besides `operatorPrincipalArns`. */
  private readonly grantedOperatorArns: string[] = [];
  /** Whether the construct created a secret, and with it a resource policy that lists the operators. */
  private readonly restrictsSecrets: boolean;

  constructor(scope: Construct, id: string, props: TokenRefresherProps) {
    super(scope, id);
    const settings = validate(this, props);
    this.credentialName = settings.credentialName;
    this.dialect = settings.dialect;
    this.metricsNamespace = settings.metricsNamespace;
    this.scheduleInterval = settings.interval;
    const stackName = Stack.of(this).stackName;
    this.scheduleRuleName = scheduleRuleName(stackName, settings.credentialName);
    this.alarmNames = enabledAlarmNames(stackName, settings.credentialName, settings.alarms);

    this.stateTable = props.stateTable ?? stateTableOf(this);
    this.eventBus = props.eventBus ?? events.EventBus.fromEventBusName(this, "DefaultEventBus", "default");
    this.clientSecret = props.clientSecret ?? this.createClientSecret(props, settings);
    this.tokenSecret = props.tokenSecret ?? this.createTokenSecret(props);
    this.deadLetterQueue = this.createDeadLetterQueue();
    this.logGroup = new logs.LogGroup(this, "LogGroup", { retention: settings.logRetention });
    this.role = this.createRole(props);
    this.function = this.createFunction(props, settings);
    this.scheduleRule = this.createSchedule(settings);
    this.restrictsSecrets = !props.clientSecret || !props.tokenSecret;
    this.restrictCreatedSecrets(props, settings);

    this.alarmTopic = this.alarmTopicFor(props);
    const alarms = this.createAlarms(props, settings);
    this.credentialRejectedAlarm = alarms.credentialRejected;
    this.appFrozenAlarm = alarms.appFrozen;
    this.pairDiscardedAlarm = alarms.pairDiscarded;
    this.refreshFailedAlarm = alarms.refreshFailed;
    this.accessTokenTtlAlarm = alarms.accessTokenTtl;
    this.refreshTokenTtlAlarm = alarms.refreshTokenTtl;
    this.functionErrorsAlarm = alarms.functionErrors;
    this.deadLetterQueueAlarm = alarms.deadLetterQueue;
    this.alarms = Object.values(alarms);
    this.accessTokenTtlThreshold = settings.alarms.accessTokenTtl && Duration.seconds(settings.alarms.accessTokenTtl.threshold);
    this.refreshTokenTtlThreshold = settings.alarms.refreshTokenTtl && Duration.seconds(settings.alarms.refreshTokenTtl.threshold);
    this.dashboard = props.dashboard ? addDashboard(this, this.dashboardInputs()) : undefined;
    addCredentialOutputs(this, this);
  }

  /**
   * Read access to the token secret (GetSecretValue, DescribeSecret) and, when it has a customer-managed
   * key, kms:Decrypt on that key through Secrets Manager for this secret only. Never the client secret.
   */
  grantRead(grantee: iam.IGrantable): iam.Grant {
    return grantReadTokenSecret(grantee, this.tokenSecret);
  }

  /**
   * What an operator needs to run the CLI on this credential (docs/construct.md, "Permissions"): `status`,
   * `refresh`, `init` (on the existing secrets), `pause` and `resume`, with `--function`, in the
   * grantee's own policy. A role or user whose ARN this stack can reference (same stack, or a literal
   * ARN) is also let through the resource policies of the secrets the construct created; any other
   * must be listed in `operatorPrincipalArns` (a warning says so; docs/security.md, "The resource policies").
   */
  grantOperate(grantee: iam.IGrantable): iam.Grant {
    this.exemptOperator(grantee.grantPrincipal);
    return grantOperateCredential(grantee, {
      credentialName: this.credentialName,
      clientSecret: this.clientSecret,
      tokenSecret: this.tokenSecret,
      stateTable: this.stateTable,
      eventBus: this.eventBus,
      function: this.function,
      scheduleRule: this.scheduleRule,
      alarms: this.alarms,
    });
  }

  /** A metric the handler emits, dimension `Credential` only, in this refresher's namespace (Sum per schedule interval). */
  metric(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return refresherMetric(this, metricName, props);
  }

  /** Runs that stored a new token pair (Sum per schedule interval). */
  metricRefreshSucceeded(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.succeeded, props);
  }

  /** Runs that found the token not due, another run busy, or the credential backing off (Sum). */
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

  /** Token pairs the platform issued that could not be stored (Sum). */
  metricPairDiscarded(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.pairDiscarded, props);
  }

  /** Seconds of validity left on the stored access token after a run (Minimum). */
  metricAccessTokenTtl(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.accessTokenTtl, { statistic: cloudwatch.Stats.MINIMUM, ...props });
  }

  /** Seconds left before the stored refresh token expires, when its expiry is known (Minimum). */
  metricRefreshTokenTtl(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.refreshTokenTtl, { statistic: cloudwatch.Stats.MINIMUM, ...props });
  }

  /** Duration of a run in ms (p99). */
  metricRefreshDuration(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.duration, { statistic: cloudwatch.Stats.p(99), ...props });
  }

  /** The widgets of this credential's dashboard (rows), to put on a dashboard of your own. */
  dashboardWidgets(): cloudwatch.IWidget[][] {
    return dashboardWidgets(this.dashboardInputs());
  }

  private createClientSecret(props: TokenRefresherProps, settings: Settings): secretsmanager.Secret {
    const secret = new secretsmanager.Secret(this, "ClientSecret", {
      description: `token-refresher ${settings.credentialName}: client credentials (${settings.dialect}); fill in after deploying, read only by the refresher and its operators`,
      // A placeholder, not a secret: CloudFormation writes it once; later deployments leave the filled-in value alone.
      secretStringValue: SecretValue.unsafePlainText(clientSecretPlaceholder(settings.dialect)),
      encryptionKey: props.encryptionKey,
      removalPolicy: props.secretRemovalPolicy ?? RemovalPolicy.RETAIN,
    });
    suppressNag(secret, [
      {
        id: "AwsSolutions-SMG4",
        reason:
          "The client credentials (appId/secret, clientId/clientSecret) are issued by the token provider's console; Secrets Manager cannot rotate them. They are replaced by hand when the provider rotates them.",
      },
    ]);
    return secret;
  }

  private createTokenSecret(props: TokenRefresherProps): secretsmanager.Secret {
    const secret = new secretsmanager.Secret(this, "TokenSecret", {
      description: `token-refresher ${props.credentialName}: access/refresh token pair, written by the refresher, read by consumers (AWSCURRENT)`,
      // `{}` is "no token pair yet" to the handler; the refresher writes every later version.
      secretStringValue: SecretValue.unsafePlainText("{}"),
      encryptionKey: props.encryptionKey,
      removalPolicy: props.secretRemovalPolicy ?? RemovalPolicy.RETAIN,
    });
    suppressNag(secret, [
      {
        id: "AwsSolutions-SMG4",
        reason:
          "The refresher itself is this secret's rotation: it writes a new version on every refresh (compare-and-swap on AWSCURRENT). A Secrets Manager rotation Lambda would race it.",
      },
    ]);
    return secret;
  }

  /**
   * An encrypted, SSL-only queue kept 14 days, for what could not run: one for both failure paths, so
   * one alarm watches them (docs/cost.md); the messages tell the two apart.
   */
  private createDeadLetterQueue(): sqs.Queue {
    const queue = new sqs.Queue(this, "DeadLetterQueue", { encryption: sqs.QueueEncryption.SQS_MANAGED, enforceSSL: true, retentionPeriod: Duration.days(14) });
    suppressNag(queue, [
      {
        id: "AwsSolutions-SQS3",
        reason:
          "This queue is itself a dead-letter queue: the EventBridge schedule target's DLQ and the Lambda asynchronous on-failure destination (cdk-nag only recognizes SQS redrive and Lambda DeadLetterConfig).",
      },
    ]);
    return queue;
  }

  private createRole(props: TokenRefresherProps): iam.Role {
    const role = new iam.Role(this, "ServiceRole", {
      assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
      description: `token-refresher ${props.credentialName}: refresher function`,
    });
    // Log streams of this function's own log group only (no logs:CreateLogGroup on *).
    this.logGroup.grantWrite(role);
    grantFunctionAccess(role, {
      credentialName: props.credentialName,
      clientSecret: this.clientSecret,
      tokenSecret: this.tokenSecret,
      stateTable: this.stateTable,
      eventBus: this.eventBus,
    });
    const acknowledged: NagSuppression[] = [];
    const wildcardArns = [this.clientSecret, this.tokenSecret].filter((s) => !s.secretFullArn).map((s) => `Resource::${arnForPolicies(s)}`);
    if (wildcardArns.length > 0) {
      acknowledged.push({
        id: "AwsSolutions-IAM5",
        reason: "A secret imported by name has an unknown 6-character suffix that Secrets Manager appends to its ARN; `-??????` matches exactly that suffix and nothing else.",
        appliesTo: wildcardArns,
      });
    }
    if (props.vpc) {
      role.addToPrincipalPolicy(vpcNetworkInterfaceStatement());
      acknowledged.push({
        id: "AwsSolutions-IAM5",
        reason: "Lambda creates and deletes the function's network interfaces in the VPC with these EC2 calls, which EC2 does not scope to resources (the same as AWSLambdaVPCAccessExecutionRole, without its logs:*).",
        appliesTo: ["Resource::*"],
      });
    }
    if (acknowledged.length > 0) suppressNag(role, acknowledged, true);
    return role;
  }

  private createFunction(props: TokenRefresherProps, settings: Settings): lambda.Function {
    return createRefresherFunction(this, {
      settings,
      role: this.role,
      logGroup: this.logGroup,
      environment: refresherEnvironment(settings, {
        clientSecret: this.clientSecret,
        tokenSecret: this.tokenSecret,
        stateTable: this.stateTable,
        eventBus: this.eventBus,
        scheduleRuleName: this.scheduleRuleName,
        alarmNames: this.alarmNames,
      }),
      deadLetterQueue: this.deadLetterQueue,
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets,
      securityGroups: props.securityGroups,
    });
  }

  private createSchedule(settings: Settings): events.Rule {
    return new events.Rule(this, "Schedule", {
      ruleName: this.scheduleRuleName,
      description: `token-refresher: runs the ${settings.credentialName} refresher`,
      schedule: settings.schedule,
      targets: [
        new targets.LambdaFunction(this.function, {
          retryAttempts: 2,
          // A trigger older than one interval is superseded by the next one.
          maxEventAge: settings.eventAge,
          deadLetterQueue: this.deadLetterQueue,
        }),
      ],
    });
  }

  /** Resource policies on the secrets this construct created (an imported secret keeps its own). */
  private restrictCreatedSecrets(props: TokenRefresherProps, settings: Settings): void {
    const listed = exemptPrincipalArns(this.role, settings.operatorPrincipalArns);
    // Lazy: grantOperate adds operators after the constructor.
    const exempt = Lazy.list({ produce: () => [...new Set([...listed, ...this.grantedOperatorArns])] });
    if (!props.clientSecret) restrictClientSecret(this.clientSecret as secretsmanager.Secret, exempt, settings.operatorPrincipalArns);
    if (!props.tokenSecret) restrictTokenSecret(this.tokenSecret as secretsmanager.Secret, exempt, settings.operatorPrincipalArns);
  }

  /**
   * Adds an operator to the created secrets' resource policies. Only an ARN this stack can hold: a
   * reference to a role in another stack would make this stack depend on that one, which already
   * depends on this one through the grant.
   */
  private exemptOperator(principal: iam.IPrincipal): void {
    if (!this.restrictsSecrets) return;
    const arn = principalArn(principal);
    if (arn !== undefined && (!Token.isUnresolved(arn) || (Construct.isConstruct(principal) && Stack.of(principal) === Stack.of(this)))) {
      this.grantedOperatorArns.push(arn);
      return;
    }
    Annotations.of(this).addWarningV2(
      "token-refresher:operatorNotListed",
      "grantOperate: the grantee is not a role or user of this stack, so the resource policies of the secrets this TokenRefresher created do not let it through: list its ARN in operatorPrincipalArns",
    );
  }

  private alarmTopicFor(props: TokenRefresherProps): sns.ITopic | undefined {
    if (props.alarmActions) return undefined;
    const topic = props.alarmTopic ?? alarmTopicOf(this);
    if (props.alarmEmail) subscribeOnce(topic, props.alarmEmail);
    return topic;
  }

  private createAlarms(props: TokenRefresherProps, settings: Settings): Partial<Record<AlarmKind, cloudwatch.Alarm>> {
    const alarmActions = props.alarmActions ?? [new SnsAction(this.alarmTopic!)];
    return addAlarms(this, {
      credentialName: settings.credentialName,
      scheduleInterval: settings.interval,
      runbookUrl: settings.runbookUrl,
      settings: settings.alarms,
      metrics: {
        credentialRejected: this.metricCredentialRejected(),
        appFrozen: this.metricAppFrozen(),
        pairDiscarded: this.metricPairDiscarded(),
        refreshFailed: this.metricRefreshFailed(),
        accessTokenTtl: this.metricAccessTokenTtl(),
        refreshTokenTtl: this.metricRefreshTokenTtl(),
        functionErrors: this.function.metricErrors({ statistic: cloudwatch.Stats.SUM }),
        deadLetterQueue: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: cloudwatch.Stats.MAXIMUM }),
      },
      alarmActions,
      okActions: props.okActions ?? alarmActions,
    });
  }

  private dashboardInputs(): DashboardInputs {
    return {
      credentialName: this.credentialName,
      accessTokenTtl: this.metricAccessTokenTtl(),
      ttlThreshold: this.accessTokenTtlThreshold,
      refreshTokenTtl: usesRefreshToken(this.dialect) ? this.metricRefreshTokenTtl() : undefined,
      refreshTokenTtlThreshold: this.refreshTokenTtlThreshold,
      outcomes: {
        [METRIC.succeeded]: this.metricRefreshSucceeded(),
        [METRIC.skipped]: this.metricRefreshSkipped(),
        [METRIC.failed]: this.metricRefreshFailed(),
        [METRIC.credentialRejected]: this.metricCredentialRejected(),
        [METRIC.appFrozen]: this.metricAppFrozen(),
        [METRIC.pairDiscarded]: this.metricPairDiscarded(),
      },
      duration: this.metricRefreshDuration(),
      alarms: this.alarms,
    };
  }
}

/** The ARN `aws:PrincipalArn` carries for a role or a user; undefined for other principals. */
function principalArn(principal: iam.IPrincipal): string | undefined {
  if ("roleArn" in principal && typeof principal.roleArn === "string") return principal.roleArn;
  if ("userArn" in principal && typeof principal.userArn === "string") return principal.userArn;
  return undefined;
}

/** The client secret's initial content: the dialect's fields, empty, for the operator to fill. */
export function clientSecretPlaceholder(dialect: TokenDialect): string {
  return JSON.stringify(dialect === "iot" ? { appId: "", secret: "" } : { clientId: "", clientSecret: "" });
}
