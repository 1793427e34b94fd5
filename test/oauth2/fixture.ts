// One OAuth2 credential wired end to end: an oidc-provider server (auth-server.ts), the client secret
// and token secret in moto through the real SDK, the refresher's config, and captured telemetry.
import { randomBytes } from "node:crypto";
import { expect } from "vitest";
import type { RefresherConfig } from "../../lambda/config/index.js";
import type { RetryPolicy } from "../../lambda/refresh/retry.js";
import { runRefresh } from "../../lambda/refresh/workflow.js";
import type { RefreshResult } from "../../lambda/telemetry/telemetry.js";
import { CapturedTelemetry, createSecret, putAsCurrent, readCurrent, testConfig, uniqueName, type CurrentSecret, type TestSettings } from "../support/aws.js";
import { registerSensitive } from "../support/leak-guard.js";
import { createStateTable, refresherDeps, type RunnerOptions } from "../support/refresher.js";
import type { TestPki } from "../../bin/local/pki.js";
import { startAuthServer, type AuthServer, type AuthServerOptions } from "./auth-server.js";

/** Prompt retries so a file stays fast; the shape (attempts, jitter) is the production one. */
export const TEST_RETRY_POLICY: RetryPolicy = { maxAttempts: 3, baseDelayMs: 20, maxDelayMs: 60, minAttemptMs: 300 };

export interface Credential {
  readonly server: AuthServer;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly clientSecretName: string;
  readonly tokenSecretName: string;
  /** The refresh token the server issued at seeding (and stored in the token secret unless told otherwise). */
  readonly initialRefreshToken: string;
  config: RefresherConfig;
  readonly telemetry: CapturedTelemetry;
  /** Every token and secret this credential has seen, for leak checks. */
  readonly secrets: Set<string>;
  run(event?: unknown): Promise<RefreshResult>;
  current(): Promise<CurrentSecret>;
  /** Replaces the token secret's AWSCURRENT value, as a person or a restored backup would. */
  putTokenSecret(value: object): Promise<void>;
}

export interface CredentialOptions {
  readonly server?: Omit<AuthServerOptions, "pki" | "clientId" | "clientSecret">;
  /** The token secret's first value; default `{"refreshToken": <seeded>}` (no access token: due). */
  readonly tokenSecret?: (refreshToken: string) => object;
  /** Client secret fields overriding the correct ones (e.g. a wrong clientSecret). */
  readonly clientSecretFields?: Record<string, unknown>;
  readonly config?: TestSettings;
  readonly eventBusName?: string;
  /** How the runs reach AWS (a test file's own front) and what host they run on. */
  readonly runner?: RunnerOptions;
}

export async function createCredential(pki: TestPki, options: CredentialOptions = {}): Promise<Credential> {
  const clientId = uniqueName("client");
  const clientSecret = `cs-${randomBytes(24).toString("base64url")}`;
  const server = await startAuthServer({ pki, clientId, clientSecret, ...options.server });
  const initialRefreshToken = await server.seedRefreshToken();
  const clientSecretName = uniqueName("oauth2-client");
  const tokenSecretName = uniqueName("oauth2-token");
  const clientSecretFields = { clientId, clientSecret, caCertificate: pki.caPem, ...options.clientSecretFields };
  await createSecret(clientSecretName, clientSecretFields);
  await createSecret(tokenSecretName, options.tokenSecret?.(initialRefreshToken) ?? { refreshToken: initialRefreshToken });
  const telemetry = new CapturedTelemetry(options.eventBusName ?? "");
  const secrets = new Set<string>();
  // Also registered with the suite's leak guard, which checks the whole file's stdout/stderr/console.
  const remember = (...values: unknown[]) => {
    for (const value of values) {
      if (typeof value !== "string") continue;
      secrets.add(value);
      registerSensitive(value);
    }
  };
  remember(clientSecret, initialRefreshToken, clientSecretFields.clientSecret);

  const credential: Credential = {
    server,
    clientId,
    clientSecret,
    clientSecretName,
    tokenSecretName,
    initialRefreshToken,
    config: testConfig({
      name: uniqueName("cred"),
      dialect: "oauth2",
      clientSecretId: clientSecretName,
      tokenSecretId: tokenSecretName,
      stateTableName: await createStateTable(),
      endpointUrl: server.baseUrl,
      eventBusName: options.eventBusName ?? "",
      ...options.config,
    }),
    telemetry,
    secrets,
    async run(event = {}) {
      const deps = refresherDeps(credential.config, (events) => telemetry.telemetry(undefined, events), { retryPolicy: TEST_RETRY_POLICY, ...options.runner });
      const result = await runRefresh(deps, credential.config.credential, event);
      await credential.current(); // remembers whatever tokens the run stored
      remember(...server.lostRefreshTokens);
      return result;
    },
    async current() {
      const current = await readCurrent(tokenSecretName);
      remember(current.json.accessToken, current.json.refreshToken);
      return current;
    },
    async putTokenSecret(value) {
      await putAsCurrent(tokenSecretName, value);
    },
  };
  return credential;
}

/** No token or secret in anything the runs printed or returned (log/EMF lines, results, messages). */
export function expectNoSecretsLeaked(credential: Credential, ...extra: unknown[]): void {
  const seen = [...credential.server.lostRefreshTokens, ...credential.secrets];
  const printed = [...credential.telemetry.raw, ...extra.map((value) => (typeof value === "string" ? value : JSON.stringify(value)))].join("\n");
  expect(seen.length).toBeGreaterThan(0);
  for (const secret of seen) {
    expect(secret.length).toBeGreaterThan(8);
    expect(printed.includes(secret), "a token or secret was printed").toBe(false);
  }
}

/** The pair a run found is still the current one. */
export function expectPairUnchanged(now: CurrentSecret, before: Record<string, unknown>): void {
  for (const field of ["accessToken", "refreshToken", "expiresAt", "tokenType", "scope"]) {
    expect(now.json[field], field).toEqual(before[field]);
  }
}

/** The metric values of the last run, by name. */
export function lastMetrics(credential: Credential): Record<string, unknown> {
  const line = credential.telemetry.last();
  const names = ["RefreshSucceeded", "RefreshSkipped", "RefreshFailed", "CredentialRejected", "AppFrozen", "AccessTokenTtl"];
  return Object.fromEntries(names.map((name) => [name, line[name]]));
}
