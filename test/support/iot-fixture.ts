import type { RefresherConfig } from "../../lambda/config/index.js";
import type { RetryPolicy } from "../../lambda/refresh/retry.js";
import { runRefresh } from "../../lambda/refresh/workflow.js";
import type { RefreshResult } from "../../lambda/telemetry/telemetry.js";
import { startIotPlatform, type IotPlatform, type IotPlatformOptions, type IssuedPair } from "../../bin/local/iot-platform.js";
import { CapturedTelemetry, createSecret, putAsCurrent, readCurrent, testConfig, uniqueName, type CurrentSecret, type TestSettings } from "./aws.js";
import { registerSensitive } from "./leak-guard.js";
import { createStateTable, refresherDeps, type RunnerOptions } from "./refresher.js";
import { createTestPki, type TestPki } from "../../bin/local/pki.js";

/** Prompt retries so error-table tests stay fast; the default policy has its own unit tests. */
export const FAST_RETRY: RetryPolicy = { maxAttempts: 4, baseDelayMs: 10, maxDelayMs: 40, minAttemptMs: 100 };

let sharedPki: Promise<TestPki> | undefined;
/** One PKI per test file: generating keys is the slow part. */
export const testPki = () => (sharedPki ??= createTestPki());

/** A token secret's document holding `pair` as a refresh stores it: expiring at `expiresAt` (epoch ms), issued an hour before. */
export function storedIotPair(pair: Pick<IssuedPair, "accessToken" | "refreshToken">, expiresAt: number): Record<string, string> {
  return {
    accessToken: pair.accessToken,
    refreshToken: pair.refreshToken,
    tokenType: "bearer",
    scope: "default",
    expiresAt: new Date(expiresAt).toISOString(),
    refreshedAt: new Date(expiresAt - 3600 * 1000).toISOString(),
  };
}

export interface IotFixtureOptions {
  /** Initial token secret value (default `{}`: no pair yet). */
  readonly tokenSecret?: string | object;
  /** Replaces fields of the default client secret (appId, secret, CA, client certificate and key). */
  readonly clientSecret?: Record<string, unknown>;
  readonly config?: TestSettings;
  readonly platform?: Partial<IotPlatformOptions>;
}

export interface RunOptions extends RunnerOptions {
  readonly force?: boolean;
}

/** A credential wired end to end: simulator over mutual TLS, both secrets in moto, captured telemetry. */
export class IotFixture {
  readonly telemetry: CapturedTelemetry;

  private constructor(
    readonly platform: IotPlatform,
    readonly pki: TestPki,
    readonly config: RefresherConfig,
  ) {
    this.telemetry = new CapturedTelemetry(config.runtime.eventBusName);
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
    const stateTableName = await createStateTable();
    const config = testConfig({ clientSecretId, tokenSecretId, stateTableName, endpointUrl: platform.baseUrl, ...options.config });
    return new IotFixture(platform, pki, config);
  }

  /** A valid pair issued by the platform an hour's lifetime ago, stored as the token secret's shape with `secondsLeft` to live. */
  pairDocument(secondsLeft: number): Record<string, string> {
    const pair = this.platform.issuePair();
    registerSensitive(pair.accessToken, pair.refreshToken);
    return storedIotPair(pair, Date.now() + secondsLeft * 1000);
  }

  /** Replaces the token secret (a plain put, as an operator would) with a valid pair that has `secondsLeft` to live. */
  async seed(secondsLeft: number): Promise<Record<string, string>> {
    const document = this.pairDocument(secondsLeft);
    await putAsCurrent(this.config.credential.tokenSecretId, document);
    return document;
  }

  async run(options: RunOptions = {}): Promise<RefreshResult> {
    try {
      return await runRefresh(
        refresherDeps(this.config, (events) => this.telemetry.forRuntime(this.config.runtime, events), { retryPolicy: FAST_RETRY, ...options }),
        this.config.credential,
        options.force ? { force: true } : {},
      );
    } finally {
      registerSensitive(this.platform.currentAccessToken(), this.platform.currentRefreshToken());
    }
  }

  /** Stores a new client secret value, as an operator who changed the app's secret in the console would; returns the new secret. */
  async rotateClientSecret(): Promise<string> {
    const secret = `s3cr3t-${uniqueName("iot")}`;
    registerSensitive(secret);
    const current = await readCurrent(this.config.credential.clientSecretId);
    await putAsCurrent(this.config.credential.clientSecretId, { ...current.json, secret });
    return secret;
  }

  stored(): Promise<CurrentSecret> {
    return readCurrent(this.config.credential.tokenSecretId);
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
