import { ArnFormat, Duration, Stack, type StackProps } from "aws-cdk-lib";
import * as events from "aws-cdk-lib/aws-events";
import * as kms from "aws-cdk-lib/aws-kms";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import * as sns from "aws-cdk-lib/aws-sns";
import { EmailSubscription } from "aws-cdk-lib/aws-sns-subscriptions";
import type { Construct } from "constructs";
import { isOAuth2Dialect, usesRefreshToken } from "../lambda/settings.js";
import type { AppConfig, CredentialConfig } from "./config.js";
import { TokenRefresher } from "./token-refresher/index.js";
import { addAlarmTopicOutput } from "./token-refresher/outputs.js";

export interface TokenRefresherStackProps extends StackProps {
  readonly config: AppConfig;
}

/** One stack, one on-call topic, one {@link TokenRefresher} per configured credential. */
export class TokenRefresherStack extends Stack {
  readonly alarmTopic: sns.ITopic;
  readonly refreshers: readonly TokenRefresher[];

  constructor(scope: Construct, id: string, props: TokenRefresherStackProps) {
    super(scope, id, props);
    const { config } = props;

    if (config.alarmTopicArn) {
      this.alarmTopic = sns.Topic.fromTopicArn(this, "AlarmTopic", config.alarmTopicArn);
    } else {
      this.alarmTopic = new sns.Topic(this, "AlarmTopic", { displayName: "token-refresher alarms", enforceSSL: true });
      addAlarmTopicOutput(this.alarmTopic);
    }
    if (config.alarmEmail) this.alarmTopic.addSubscription(new EmailSubscription(config.alarmEmail));

    // Each refresher adds its credential's outputs, and the first one the state table's (StateTableName).
    this.refreshers = config.credentials.map((credential) => this.addCredential(credential, config));
  }

  private addCredential(c: CredentialConfig, config: AppConfig): TokenRefresher {
    const id = c.name;
    const key = c.kmsKeyArn ? kms.Key.fromKeyArn(this, `${id}-Key`, c.kmsKeyArn) : undefined;
    const importSecret = (kind: "Client" | "Token", arn?: string, name?: string) => {
      if (arn) return secretsmanager.Secret.fromSecretAttributes(this, `${id}-${kind}Secret`, { secretCompleteArn: arn, encryptionKey: key });
      if (name) {
        const secretPartialArn = this.formatArn({ service: "secretsmanager", resource: "secret", resourceName: name, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
        return secretsmanager.Secret.fromSecretAttributes(this, `${id}-${kind}Secret`, { secretPartialArn, encryptionKey: key });
      }
      return undefined;
    };
    const clientSecret = importSecret("Client", c.clientSecretArn, c.clientSecretName);
    const tokenSecret = importSecret("Token", c.tokenSecretArn, c.tokenSecretName);
    const eventBus = c.eventBusName
      ? c.eventBusName.startsWith("arn:")
        ? events.EventBus.fromEventBusArn(this, `${id}-EventBus`, c.eventBusName)
        : events.EventBus.fromEventBusName(this, `${id}-EventBus`, c.eventBusName)
      : undefined;

    // Fields from `defaults` apply only to the credentials whose dialect uses them.
    const oauth2 = isOAuth2Dialect(c.dialect);
    const refreshTokenTtlHours = usesRefreshToken(c.dialect) ? c.refreshTokenTtlThresholdHours : undefined;
    return new TokenRefresher(this, id, {
      credentialName: c.name,
      dialect: c.dialect,
      endpointUrl: c.endpointUrl,
      ...(oauth2 && {
        oauth2TokenPath: c.oauth2TokenPath,
        oauth2DefaultExpiresIn: c.oauth2DefaultExpiresInSeconds === undefined ? undefined : Duration.seconds(c.oauth2DefaultExpiresInSeconds),
        oauth2ClientAuth: c.oauth2ClientAuth,
        oauth2Scope: c.oauth2Scope,
        oauth2Audience: c.oauth2Audience,
      }),
      schedule: c.scheduleMinutes === undefined ? undefined : events.Schedule.rate(Duration.minutes(c.scheduleMinutes)),
      refreshWindow: c.refreshWindowMinutes === undefined ? undefined : Duration.minutes(c.refreshWindowMinutes),
      alarms: {
        ...(c.accessTokenTtlThresholdMinutes !== undefined && { accessTokenTtl: { threshold: Duration.minutes(c.accessTokenTtlThresholdMinutes) } }),
        ...(refreshTokenTtlHours !== undefined && { refreshTokenTtl: { threshold: Duration.hours(refreshTokenTtlHours) } }),
      },
      runbookUrl: config.runbookUrl,
      dashboard: config.dashboard,
      timeout: c.timeoutSeconds === undefined ? undefined : Duration.seconds(c.timeoutSeconds),
      httpTimeout: c.httpTimeoutMs === undefined ? undefined : Duration.millis(c.httpTimeoutMs),
      clientSecret,
      tokenSecret,
      // Only for secrets the construct creates; imported ones carry the key themselves.
      encryptionKey: clientSecret && tokenSecret ? undefined : key,
      // Only the resource policies of created secrets list operators; with both imported there is none.
      operatorPrincipalArns: clientSecret && tokenSecret ? undefined : config.operatorPrincipalArns?.slice(),
      alarmTopic: this.alarmTopic,
      // 0 (or unset) reserves nothing: the lease, not concurrency, keeps runs from overlapping.
      reservedConcurrency: c.reservedConcurrency || undefined,
      memorySize: c.memorySize,
      logRetention: c.logRetentionDays,
      metricsNamespace: config.metricsNamespace,
      eventBus,
    });
  }
}
