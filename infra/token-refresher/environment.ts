import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import type * as events from "aws-cdk-lib/aws-events";
import type * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { DEFAULT_OAUTH2_TOKEN_PATH, OAUTH2_DIALECTS } from "../../lambda/settings.js";
import type { TokenRefresherProps } from "./props.js";
import type { Settings } from "./validate.js";

/** What the function's environment points at. */
export interface EnvironmentTargets {
  readonly clientSecret: secretsmanager.ISecret;
  readonly tokenSecret: secretsmanager.ISecret;
  readonly stateTable: dynamodb.ITable;
  readonly eventBus: events.IEventBus;
  /** The schedule rule's name, which `token-refresher pause`/`resume` switch (a literal, see names.ts). */
  readonly scheduleRuleName: string;
  /** The names of the credential's alarms, whose actions pause/resume switch (literals). */
  readonly alarmNames: readonly string[];
}

/** The id the handler calls Secrets Manager with: the full ARN, or the partial one (name without suffix), which Secrets Manager resolves. */
export function secretId(secret: secretsmanager.ISecret): string {
  return secret.secretFullArn ?? secret.secretArn;
}

/**
 * The function's environment (README, "Configuration"). Every value was checked by `validate`
 * against the limits the handler's parser applies (lambda/settings.ts, their one source).
 */
export function functionEnvironment(props: TokenRefresherProps, settings: Settings, targets: EnvironmentTargets): Record<string, string> {
  const env: Record<string, string> = {
    CREDENTIAL_NAME: settings.credentialName,
    TOKEN_DIALECT: settings.dialect,
    CLIENT_SECRET_ID: secretId(targets.clientSecret),
    TOKEN_SECRET_ID: secretId(targets.tokenSecret),
    STATE_TABLE_NAME: targets.stateTable.tableName,
    ENDPOINT_URL: props.endpointUrl,
    REFRESH_WINDOW_SECONDS: String(settings.refreshWindow.toSeconds()),
    HTTP_TIMEOUT_MS: String(settings.httpTimeout.toMilliseconds()),
    RUN_BUDGET_MS: String(settings.runBudget.toMilliseconds()),
    LEASE_SECONDS: String(settings.lease.toSeconds()),
    METRICS_NAMESPACE: settings.metricsNamespace,
    EVENT_BUS_NAME: targets.eventBus.eventBusArn,
    SCHEDULE_RULE_NAME: targets.scheduleRuleName,
    NODE_OPTIONS: "--enable-source-maps",
  };
  // Absent with every alarm switched off: there is nothing for pause to switch.
  if (targets.alarmNames.length > 0) env.ALARM_NAMES = targets.alarmNames.join(",");
  if (OAUTH2_DIALECTS.includes(settings.dialect)) {
    env.OAUTH2_TOKEN_PATH = props.oauth2TokenPath ?? DEFAULT_OAUTH2_TOKEN_PATH;
    env.DEFAULT_EXPIRES_IN_SECONDS = String(settings.defaultExpiresIn.toSeconds());
    // Only when given: the client secret's fields override them, and unset the handler applies its default.
    const { clientAuth, scope, audience } = settings.oauth2;
    if (clientAuth !== undefined) env.OAUTH2_CLIENT_AUTH = clientAuth;
    if (scope !== undefined) env.OAUTH2_SCOPE = scope;
    if (audience !== undefined) env.OAUTH2_AUDIENCE = audience;
  }
  return env;
}
