import { Duration, Stack } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import type * as iam from "aws-cdk-lib/aws-iam";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import * as logs from "aws-cdk-lib/aws-logs";
import type * as sns from "aws-cdk-lib/aws-sns";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { DIMENSION, FLEET_DIMENSION, FLEET_METRIC, METRIC } from "../../lambda/telemetry/names.js";
import { alarmTopicOf, subscribeOnce } from "../token-refresher/alarm-topic.js";
import { scheduleRuleName } from "../token-refresher/names.js";
import { stateTableOf } from "../token-refresher/state-table.js";
import { addFleetAlarms, type FleetAlarmKind } from "./alarms.js";
import { fleetEnvironment } from "./environment.js";
import { addFleetOutputs } from "./outputs.js";
import { addPagingRules } from "./paging.js";
import type { TokenRefresherFleetProps } from "./props.js";
import { createFleetFunction, createRegistryTable, createWorkQueues } from "./resources.js";
import { allowAssumingRunRole, createRunRole, createSchedulerRole, createWorkerRole } from "./roles.js";
import { validateFleet, type FleetSettings } from "./validate.js";

export * from "./props.js";
export type { FleetAlarmKind } from "./alarms.js";
export { FLEET_OUTPUT_IDS } from "./outputs.js";

/** How often the scheduler looks for due credentials. */
const SCHEDULE = Duration.minutes(1);
/** The scheduler ends before the next tick starts, so two never overlap. */
const SCHEDULER_TIMEOUT = Duration.seconds(50);
/** Memory (and so CPU) for paging through the due index and enqueueing thousands in a minute. */
const SCHEDULER_MEMORY_MB = 512;
/**
 * One message, one credential's run per worker invocation: `workerConcurrency` then means runs at
 * once, and every run gets the whole invocation's budget and write reserve (docs/fleet.md, "Batch size").
 */
const WORKER_BATCH_SIZE = 1;

/**
 * Fleet mode (docs/fleet.md): credentials as data, not resources. A registry table of credentials, a
 * scheduler that enqueues the due ones every minute under a Secrets Manager write budget, a work queue,
 * workers that refresh each credential in a session of the run role tagged with its name (so a run
 * reaches only its own secrets and items), and paging that names the credential: two EventBridge
 * rules and five alarms. The template's size does not depend on the number of credentials.
 */
export class TokenRefresherFleet extends Construct {
  readonly fleetName: string;
  readonly metricsNamespace: string;
  /** One item per credential (its spec, status and due times), with the sparse index `due`. */
  readonly registryTable: dynamodb.Table;
  /** Each credential's lease and state (the write protocol's table, shared with the stack's refreshers by default). */
  readonly stateTable: dynamodb.ITable;
  /** Due credentials, one message each; the workers' event source. */
  readonly workQueue: sqs.Queue;
  /** Messages the workers could not process after several receives. */
  readonly deadLetterQueue: sqs.Queue;
  /** The bus of the fleet's events and of its paging rules. */
  readonly eventBus: events.IEventBus;
  readonly schedulerRole: iam.Role;
  readonly workerRole: iam.Role;
  /** The role of one credential's run, assumed by the worker with the session tag `TokenRefresherCredential`. */
  readonly runRole: iam.Role;
  readonly schedulerFunction: lambda.Function;
  /** The worker; its name is what the CLI's fleet commands take with `--function`. */
  readonly workerFunction: lambda.Function;
  /** Triggers the scheduler every minute, named `<stack>-<fleet>-fleet-schedule`; disabling it stops the whole fleet. */
  readonly scheduleRule: events.Rule;
  /** Routes `Token Refresh Failed` (CredentialRejected, AppFrozen, PairDiscarded) to the topic, naming the credential. */
  readonly failedPagingRule: events.Rule;
  /** Routes `Token Refresh Overdue` to the topic, naming the credential. */
  readonly overduePagingRule: events.Rule;
  /** Every alarm and paging message goes here (`alarmTopic`, or the stack's shared one). */
  readonly alarmTopic: sns.ITopic;
  /** The enabled alarms, by kind. */
  readonly alarms: Partial<Record<FleetAlarmKind, cloudwatch.Alarm>>;

  constructor(scope: Construct, id: string, props: TokenRefresherFleetProps) {
    super(scope, id);
    const settings = validateFleet(this, props);
    this.fleetName = settings.fleetName;
    this.metricsNamespace = settings.metricsNamespace;

    this.registryTable = createRegistryTable(this);
    this.stateTable = props.stateTable ?? stateTableOf(this);
    this.eventBus = props.eventBus ?? events.EventBus.fromEventBusName(this, "DefaultEventBus", "default");
    ({ workQueue: this.workQueue, deadLetterQueue: this.deadLetterQueue } = createWorkQueues(this, settings.timeout));
    const logGroups = this.createLogGroups(settings);
    this.workerRole = createWorkerRole(this, this.fleetName, logGroups.worker);
    this.runRole = createRunRole(this, {
      fleetName: this.fleetName,
      secretNamePrefix: settings.secretNamePrefix,
      workerRole: this.workerRole,
      stateTable: this.stateTable,
      registryTable: this.registryTable,
      eventBus: this.eventBus,
    });
    allowAssumingRunRole(this.workerRole, this.runRole);
    this.schedulerRole = createSchedulerRole(this, { fleetName: this.fleetName, logGroup: logGroups.scheduler, registryTable: this.registryTable, workQueue: this.workQueue, eventBus: this.eventBus });

    const environment = fleetEnvironment(settings, { registryTable: this.registryTable, stateTable: this.stateTable, workQueue: this.workQueue, runRole: this.runRole, eventBus: this.eventBus });
    this.schedulerFunction = this.createScheduler(settings, logGroups.scheduler, environment);
    this.workerFunction = this.createWorker(settings, logGroups.worker, environment);
    this.scheduleRule = this.createSchedule();

    this.alarmTopic = props.alarmTopic ?? alarmTopicOf(this);
    if (props.alarmEmail) subscribeOnce(this.alarmTopic, props.alarmEmail);
    ({ failed: this.failedPagingRule, overdue: this.overduePagingRule } = addPagingRules(this, {
      fleetName: this.fleetName,
      eventBus: this.eventBus,
      topic: this.alarmTopic,
      runbookUrl: settings.runbookUrl,
      workerFunction: this.workerFunction,
    }));
    this.alarms = this.createAlarms(settings);
    addFleetOutputs(this, this);
  }

  /** A metric of the fleet, dimension `Fleet` only, in its namespace (Sum per 5 minutes unless `props` say otherwise). */
  metric(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      statistic: cloudwatch.Stats.SUM,
      period: Duration.minutes(5),
      ...props,
      namespace: this.metricsNamespace,
      metricName,
      dimensionsMap: { [FLEET_DIMENSION]: this.fleetName },
    });
  }

  /** Runs that stored a new token pair, fleet-wide (Sum). */
  metricRefreshSucceeded(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.succeeded, props);
  }

  /** Runs that failed, whatever the reason, fleet-wide (Sum). */
  metricRefreshFailed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.failed, props);
  }

  /** Duration of a run in ms, fleet-wide (p99). */
  metricRefreshDuration(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.duration, { statistic: cloudwatch.Stats.p(99), ...props });
  }

  /** Credentials the scheduler found due (Sum). Every scheduler run reports it, so its SampleCount is the scheduler's heartbeat. */
  metricDueCredentials(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(FLEET_METRIC.due, props);
  }

  /** Credentials the scheduler enqueued (Sum). */
  metricEnqueuedCredentials(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(FLEET_METRIC.enqueued, props);
  }

  /** Due credentials the write budget left for the next minute (Sum). */
  metricDeferredCredentials(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(FLEET_METRIC.deferred, props);
  }

  /** Credentials no run refreshed in time, as the scheduler last counted them (Maximum). */
  metricOverdueCredentials(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(FLEET_METRIC.overdue, { statistic: cloudwatch.Stats.MAXIMUM, ...props });
  }

  /** Failed runs of one credential (dimensions `Fleet`, `Credential`; reported only by failed runs) (Sum). */
  metricCredentialRefreshFailed(credentialName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.failed, props).with({ dimensionsMap: { [FLEET_DIMENSION]: this.fleetName, [DIMENSION]: credentialName } });
  }

  /**
   * Failed runs per credential, one time series per credential that failed (a Metrics Insights query,
   * `GROUP BY Credential`): what the refreshFailed alarm evaluates. At most 500 series, the most
   * failing first.
   */
  metricFailingCredentials(props?: { readonly period?: Duration; readonly label?: string }): cloudwatch.MathExpression {
    return new cloudwatch.MathExpression({
      expression:
        `SELECT SUM(${METRIC.failed}) FROM SCHEMA("${this.metricsNamespace}", ${DIMENSION}, ${FLEET_DIMENSION}) ` +
        `WHERE ${FLEET_DIMENSION} = '${this.fleetName}' GROUP BY ${DIMENSION} ORDER BY SUM() DESC`,
      period: props?.period ?? Duration.hours(1),
      label: props?.label ?? "failed runs",
    });
  }

  /** Worker invocations that threw or timed out (`AWS/Lambda` Errors, Sum). */
  metricWorkerErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.workerFunction.metricErrors({ statistic: cloudwatch.Stats.SUM, ...props });
  }

  /** Messages waiting in the dead-letter queue (Maximum). */
  metricDeadLetterMessages(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: cloudwatch.Stats.MAXIMUM, ...props });
  }

  private createLogGroups(settings: FleetSettings): { scheduler: logs.LogGroup; worker: logs.LogGroup } {
    return {
      scheduler: new logs.LogGroup(this, "SchedulerLogGroup", { retention: settings.logRetention }),
      worker: new logs.LogGroup(this, "WorkerLogGroup", { retention: settings.logRetention }),
    };
  }

  private createScheduler(settings: FleetSettings, logGroup: logs.ILogGroup, environment: Record<string, string>): lambda.Function {
    const fn = createFleetFunction(this, "SchedulerFunction", {
      bundle: "fleet/scheduler",
      description: `token-refresher fleet ${settings.fleetName}: enqueues due credentials, pages for overdue ones`,
      role: this.schedulerRole,
      logGroup,
      environment,
      timeout: SCHEDULER_TIMEOUT,
      memorySize: SCHEDULER_MEMORY_MB,
    });
    // A failed tick is not retried: the next one, a minute later, finds the same credentials due.
    fn.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: SCHEDULE });
    return fn;
  }

  private createWorker(settings: FleetSettings, logGroup: logs.ILogGroup, environment: Record<string, string>): lambda.Function {
    const fn = createFleetFunction(this, "WorkerFunction", {
      bundle: "fleet/worker",
      description: `token-refresher fleet ${settings.fleetName}: refreshes one credential per message, as the run role tagged with its name`,
      role: this.workerRole,
      logGroup,
      environment,
      timeout: settings.timeout,
      memorySize: settings.memorySize,
    });
    fn.addEventSource(
      new SqsEventSource(this.workQueue, { batchSize: WORKER_BATCH_SIZE, maxConcurrency: settings.workerConcurrency, reportBatchItemFailures: true }),
    );
    return fn;
  }

  private createSchedule(): events.Rule {
    return new events.Rule(this, "Schedule", {
      ruleName: scheduleRuleName(Stack.of(this).stackName, `${this.fleetName}-fleet`),
      description: `token-refresher fleet ${this.fleetName}: runs the scheduler`,
      schedule: events.Schedule.rate(SCHEDULE),
      targets: [new targets.LambdaFunction(this.schedulerFunction, { retryAttempts: 0, maxEventAge: SCHEDULE })],
    });
  }

  private createAlarms(settings: FleetSettings): Partial<Record<FleetAlarmKind, cloudwatch.Alarm>> {
    return addFleetAlarms(this, {
      fleetName: this.fleetName,
      runbookUrl: settings.runbookUrl,
      settings: settings.alarms,
      metrics: {
        refreshFailed: this.metricFailingCredentials(),
        overdue: this.metricOverdueCredentials(),
        schedulerHeartbeat: this.metricDueCredentials({ statistic: cloudwatch.Stats.SAMPLE_COUNT }),
        workerErrors: this.metricWorkerErrors(),
        deadLetterQueue: this.metricDeadLetterMessages(),
      },
      actions: [new SnsAction(this.alarmTopic)],
    });
  }
}
