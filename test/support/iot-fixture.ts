import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { RefresherConfig } from "../../lambda/config.js";
import type { RetryPolicy } from "../../lambda/refresh/retry.js";
import { runRefresh } from "../../lambda/refresh/workflow.js";
import type { RefreshResult } from "../../lambda/telemetry/telemetry.js";
import { startIotPlatform, type IotPlatform, type IotPlatformOptions } from "../simulators/iot-platform.js";
import { CapturedTelemetry, createSecret, putAsCurrent, readCurrent, secretsClient, testConfig, uniqueName, type CurrentSecret } from "./aws.js";
import { registerSensitive } from "./leak-guard.js";
import { createTestPki, type TestPki } from "./pki.js";

/** Prompt retries so error-table tests stay fast; the default policy has its own unit tests. */
export const FAST_RETRY: RetryPolicy = { maxAttempts: 4, baseDelayMs: 10, maxDelayMs: 40, minAttemptMs: 100 };

let sharedPki: Promise<TestPki> | undefined;
/** One PKI per test file: generating keys is the slow part. */
export const testPki = () => (sharedPki ??= createTestPki());

export interface IotFixtureOptions {
  /** Initial token secret value (default `{}`: no pair yet). */
  readonly tokenSecret?: string | object;
  /** Replaces fields of the default client secret (appId, secret, CA, client certificate and key). */
  readonly clientSecret?: Record<string, unknown>;
  readonly config?: Partial<RefresherConfig>;
  readonly platform?: Partial<IotPlatformOptions>;
}

export interface RunOptions {
  readonly force?: boolean;
  readonly now?: () => number;
  readonly secrets?: SecretsManagerClient;
}

/** A credential wired end to end: simulator over mutual TLS, both secrets in moto, captured telemetry. */
export class IotFixture {
  readonly telemetry: CapturedTelemetry;

  private constructor(
    readonly platform: IotPlatform,
    readonly pki: TestPki,
    readonly config: RefresherConfig,
  ) {
    this.telemetry = new CapturedTelemetry(config.eventBusName);
  }

  static async start(options: IotFixtureOptions = {}): Promise<IotFixture> {
    const pki = await testPki();
    const appId = uniqueName("app");
    const secret = `s3cr3t-${uniqueName("iot")}`;
    registerSensitive(secret, pki.client.keyPem, pki.server.keyPem);
    const platform = await startIotPlatform({ pki, appId, secret, rateLimit: false, ...options.platform });
    const clientSecretId = uniqueName("client");
    const tokenSecretId = uniqueName("token");
    await createSecret(clientSecretId, {
      appId,
      secret,
      caCertificate: pki.caPem,
      clientCertificate: pki.client.certPem,
      clientKey: pki.client.keyPem,
      ...options.clientSecret,
    });
    await createSecret(tokenSecretId, options.tokenSecret ?? {});
    const config = testConfig({ clientSecretId, tokenSecretId, endpointUrl: platform.baseUrl, ...options.config });
    return new IotFixture(platform, pki, config);
  }

  /** A valid pair issued by the platform, stored as the token secret's shape with the given lifetime left. */
  pairDocument(secondsLeft: number): Record<string, string> {
    const pair = this.platform.issuePair();
    registerSensitive(pair.accessToken, pair.refreshToken);
    return {
      accessToken: pair.accessToken,
      refreshToken: pair.refreshToken,
      tokenType: "bearer",
      scope: "default",
      expiresAt: new Date(Date.now() + secondsLeft * 1000).toISOString(),
      refreshedAt: new Date().toISOString(),
    };
  }

  /** Replaces the token secret (a plain put, as an operator would) with a valid pair that has `secondsLeft` to live. */
  async seed(secondsLeft: number): Promise<Record<string, string>> {
    const document = this.pairDocument(secondsLeft);
    await putAsCurrent(this.config.tokenSecretId, document);
    return document;
  }

  async run(options: RunOptions = {}): Promise<RefreshResult> {
    try {
      return await runRefresh(
        {
          config: this.config,
          secrets: options.secrets ?? secretsClient(),
          telemetry: this.telemetry.telemetry(this.config.metricsNamespace),
          retryPolicy: FAST_RETRY,
          ...(options.now && { now: options.now }),
        },
        options.force ? { force: true } : {},
      );
    } finally {
      registerSensitive(this.platform.currentAccessToken(), this.platform.currentRefreshToken());
    }
  }

  stored(): Promise<CurrentSecret> {
    return readCurrent(this.config.tokenSecretId);
  }

  /** The stored pair is the one the platform accepts now. */
  async storedPairIsCurrent(): Promise<boolean> {
    const { json } = await this.stored();
    return (
      typeof json.accessToken === "string" &&
      this.platform.isValidAccessToken(json.accessToken) &&
      typeof json.refreshToken === "string" &&
      json.refreshToken === this.platform.currentRefreshToken() &&
      this.platform.isValidRefreshToken(json.refreshToken)
    );
  }

  close(): Promise<void> {
    return this.platform.close();
  }
}
