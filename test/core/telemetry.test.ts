import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { describe, expect, it } from "vitest";
import { Telemetry, type MetricPolicy, type RefreshResult } from "../../lambda/telemetry/telemetry.js";
import { EventSink, eventsClient } from "../support/aws.js";

const refreshed: RefreshResult = {
  credential: "iot-app",
  outcome: "Refreshed",
  reason: "refreshed",
  apiCalls: 1,
  durationMs: 42,
  tokenSecretArn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:t",
  versionId: "v2",
  expiresAt: "2026-11-22T03:00:00.000Z",
  ttlSeconds: 3599,
};

function capture(eventBusName = "", events: EventBridgeClient = eventsClient(), metrics?: MetricPolicy) {
  const lines: string[] = [];
  const telemetry = new Telemetry({ namespace: "TokenRefresher", eventBusName, events, write: (line) => lines.push(line), ...(metrics && { metrics }) });
  return { telemetry, lines };
}

type Directive = { Dimensions: string[][]; Metrics: { Name: string }[] };

/** The metrics a line declares, by dimension set. */
async function declared(result: RefreshResult, metrics: MetricPolicy): Promise<Record<string, string[]>> {
  const { telemetry, lines } = capture("", eventsClient(), metrics);
  await telemetry.report(result, new Date(0));
  const line = JSON.parse(lines[0]!) as { _aws: { CloudWatchMetrics: Directive[] } };
  return Object.fromEntries(line._aws.CloudWatchMetrics.map((d) => [d.Dimensions[0]!.join(","), d.Metrics.map((m) => m.Name).sort()]));
}

describe("Telemetry", () => {
  it("writes one EMF line with the Credential dimension only and every count metric", async () => {
    const { telemetry, lines } = capture();
    await telemetry.report(refreshed, new Date(0));
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]!) as Record<string, unknown> & { _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] } };
    const directive = line._aws.CloudWatchMetrics[0]!;
    expect(directive.Namespace).toBe("TokenRefresher");
    expect(directive.Dimensions).toEqual([["Credential"]]);
    expect(directive.Metrics.map((m) => m.Name).sort()).toEqual(
      ["AccessTokenTtl", "AppFrozen", "CredentialRejected", "PairDiscarded", "RefreshDuration", "RefreshFailed", "RefreshSkipped", "RefreshSucceeded"].sort(),
    );
    expect(line).toMatchObject({ Credential: "iot-app", RefreshSucceeded: 1, RefreshFailed: 0, AccessTokenTtl: 3599, RefreshDuration: 42 });
  });

  it("counts a rejected credential as both CredentialRejected and RefreshFailed, and omits an unknown TTL", async () => {
    const { telemetry, lines } = capture();
    await telemetry.report({ ...refreshed, outcome: "CredentialRejected", ttlSeconds: undefined, reason: "PlatformError" });
    const line = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(line).toMatchObject({ CredentialRejected: 1, RefreshFailed: 1, RefreshSucceeded: 0, level: "ERROR" });
    expect(line).not.toHaveProperty("AccessTokenTtl");
  });

  it("publishes Token Refreshed and Token Refresh Failed events to the bus, none for a skip", async () => {
    const sink = await EventSink.create();
    const { telemetry } = capture(sink.busName);
    await telemetry.report(refreshed);
    await telemetry.report({ ...refreshed, outcome: "Skipped", reason: "not-due" });
    await telemetry.report({ ...refreshed, outcome: "AppFrozen", httpStatus: 400, errorCode: "100247", message: "frozen", reason: "PlatformError" });
    const events = await sink.drain();
    expect(events.map((e) => e["detail-type"]).sort()).toEqual(["Token Refresh Failed", "Token Refreshed"]);
    expect(events.find((e) => e["detail-type"] === "Token Refreshed")!.detail).toEqual({
      credential: "iot-app",
      tokenSecretArn: refreshed.tokenSecretArn,
      versionId: "v2",
      expiresAt: refreshed.expiresAt,
    });
    expect(events.find((e) => e["detail-type"] === "Token Refresh Failed")!.detail).toEqual({
      credential: "iot-app",
      outcome: "AppFrozen",
      httpStatus: 400,
      errorCode: "100247",
      message: "frozen",
    });
  });

  it("does not fail the run when the event cannot be published", async () => {
    const unreachable = new EventBridgeClient({ endpoint: "http://127.0.0.1:9", maxAttempts: 1 });
    const { telemetry, lines } = capture("default", unreachable);
    await expect(telemetry.report(refreshed)).resolves.toBeUndefined();
    expect(lines).toHaveLength(1);
  });

  describe("metric policy (docs/cost.md): only what an alarm or a dashboard reads is a metric", () => {
    const essential: MetricPolicy = { detailed: false, refreshTokenTtlReportBelowSeconds: 6 * 86_400 };

    it("a healthy dedicated run declares AccessTokenTtl only; the log line still carries every value", async () => {
      expect(await declared({ ...refreshed, refreshTokenTtlSeconds: 20 * 86_400 }, essential)).toEqual({ Credential: ["AccessTokenTtl"] });
      const { telemetry, lines } = capture("", eventsClient(), essential);
      await telemetry.report(refreshed);
      expect(JSON.parse(lines[0]!)).toMatchObject({ RefreshSucceeded: 1, RefreshFailed: 0, RefreshDuration: 42 });
    });

    it("a failed run declares its failure counts as 1, and RefreshTokenTtl once it is inside the horizon", async () => {
      expect(await declared({ ...refreshed, outcome: "AppFrozen", reason: "PlatformError", refreshTokenTtlSeconds: 2 * 86_400 }, essential)).toEqual({
        Credential: ["AccessTokenTtl", "AppFrozen", "RefreshFailed", "RefreshTokenTtl"],
      });
    });

    it("detailed declares every metric, zeros included, as before", async () => {
      expect((await declared(refreshed, { detailed: true })).Credential).toHaveLength(8);
    });

    it("a fleet declares aggregates per fleet, and failures per credential only on a failed run", async () => {
      const fleet: MetricPolicy = { detailed: true, fleetName: "erp" };
      expect(await declared(refreshed, fleet)).toEqual({
        Fleet: ["AccessTokenTtl", "AppFrozen", "CredentialRejected", "PairDiscarded", "RefreshDuration", "RefreshFailed", "RefreshSkipped", "RefreshSucceeded"],
      });
      expect((await declared({ ...refreshed, outcome: "CredentialRejected", reason: "PlatformError" }, fleet))["Fleet,Credential"]).toEqual(["CredentialRejected", "RefreshFailed"]);
    });
  });
});
