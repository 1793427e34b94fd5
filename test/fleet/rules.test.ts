// The fleet's rules, without AWS: its settings from the environment, the next due time (the
// decision's own rule), the scheduler's plan of a minute and its overdue rule, what a run records,
// and what a message must say.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { loadFleetConfig } from "../../lambda/config/index.js";
import { ConfigError } from "../../lambda/errors.js";
import type { RegistryItem } from "../../lambda/fleet/registry.js";
import { ENQUEUED_HOLD_MS, OVERDUE_GRACE_MS, isOverdue, planMinute, refreshesPerSecond } from "../../lambda/fleet/scheduler.js";
import { BUSY_RETRY_MS, FAILURE_RETRY_MS, MalformedMessageError, credentialOf, runRecord } from "../../lambda/fleet/worker.js";
import { dueAt, isDue } from "../../lambda/protocol/decision.js";
import type { RefreshResult } from "../../lambda/telemetry/telemetry.js";

const MINUTE = 60_000;
const env = {
  FLEET_NAME: "customers",
  REGISTRY_TABLE_NAME: "customers-registry",
  STATE_TABLE_NAME: "customers-state",
  WORK_QUEUE_URL: "https://sqs.eu-west-1.amazonaws.com/123456789012/customers-work",
  RUN_ROLE_ARN: "arn:aws:iam::123456789012:role/customers-run",
};

describe("loadFleetConfig (a fleet function's environment)", () => {
  it("reads the fleet's settings with the table's defaults, and the runtime settings every run has", () => {
    const { fleet, runtime } = loadFleetConfig(["workQueueUrl"], env);
    expect(fleet).toEqual({
      fleetName: "customers",
      registryTableName: "customers-registry",
      workQueueUrl: env.WORK_QUEUE_URL,
      runRoleArn: env.RUN_ROLE_ARN,
      secretNamePrefix: "token-refresher/",
      writeBudgetPerSecond: 20,
      overdueThresholdSeconds: 600,
    });
    expect(runtime).toMatchObject({ stateTableName: "customers-state", runBudgetMs: 25_000, metricsNamespace: "TokenRefresher" });
  });

  it("each function requires its own setting, and a bad value names its variable", () => {
    const common = Object.fromEntries(Object.entries(env).filter(([variable]) => variable !== "WORK_QUEUE_URL" && variable !== "RUN_ROLE_ARN"));
    expect(() => loadFleetConfig(["workQueueUrl"], common)).toThrow(/WORK_QUEUE_URL is required/);
    expect(() => loadFleetConfig(["runRoleArn"], common)).toThrow(/RUN_ROLE_ARN is required/);
    expect(loadFleetConfig(["runRoleArn"], { ...common, RUN_ROLE_ARN: env.RUN_ROLE_ARN }).fleet.workQueueUrl).toBeUndefined();
    const error = (() => {
      try {
        loadFleetConfig(["runRoleArn"], { ...env, WRITE_BUDGET_PER_SECOND: "80", FLEET_NAME: "" });
      } catch (thrown) {
        return thrown as ConfigError;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error!.problems.map((problem) => problem.field).sort()).toEqual(["fleetName", "writeBudgetPerSecond"]);
    expect(error!.message).toMatch(/WRITE_BUDGET_PER_SECOND must be .*50/);
  });
});

describe("the next due time is the decision's own rule", () => {
  const rules = (refreshWindowSeconds: number) => ({ refreshWindowSeconds, usesRefreshToken: true });

  it("is when isDue starts to hold for the stored pair: not a second later, and not before its second", () => {
    const at = Date.UTC(2026, 0, 1);
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 240 }).map((minutes) => minutes * MINUTE),
        fc.option(fc.integer({ min: 0, max: 120 * MINUTE }), { nil: undefined }),
        fc.constantFrom(60, 300, 900, 3600),
        (lifetime, refreshedBefore, window) => {
          const document = {
            accessToken: "a",
            refreshToken: "r",
            expiresAt: new Date(at + lifetime).toISOString(),
            ...(refreshedBefore !== undefined && { refreshedAt: new Date(at - refreshedBefore).toISOString() }),
          };
          const due = dueAt(document, rules(window))!;
          expect(isDue(document, due, rules(window))).toBe(true);
          expect(isDue(document, due + 7 * MINUTE, rules(window))).toBe(true);
          if (due - 1_001 > at - 120 * MINUTE) expect(isDue(document, due - 1_001, rules(window))).toBe(false);
        },
      ),
    );
  });

  it("holds a short-lived token for the spacing rule, and a pair without a usable access token is due at once", () => {
    const refreshedAt = Date.UTC(2026, 0, 1);
    const twentyMinutes = { accessToken: "a", refreshToken: "r", refreshedAt: new Date(refreshedAt).toISOString(), expiresAt: new Date(refreshedAt + 20 * MINUTE).toISOString() };
    // Window 15 min opens at +5 min; the spacing (16 min) is cut short by the urgent margin (6 min before expiry).
    expect(dueAt(twentyMinutes, rules(900))).toBe(refreshedAt + 14 * MINUTE);
    expect(dueAt({ refreshToken: "r" }, rules(900))).toBeUndefined();
    expect(dueAt({ accessToken: "a", expiresAt: twentyMinutes.expiresAt }, rules(900))).toBeUndefined();
  });
});

const item = (over: Partial<RegistryItem> = {}): RegistryItem => ({ credential: "c", spec: {}, status: "active", nextDueAt: 0, ...over });

describe("the scheduler's plan of a minute", () => {
  const now = Date.UTC(2026, 0, 1, 12);

  it("enqueues budget/2 refreshes per second of the minute, the most urgent first, and defers the rest", () => {
    const due = Array.from({ length: 1_000 }, (_, i) => item({ credential: `c${String(i).padStart(4, "0")}`, nextDueAt: now - i, expiresAt: now + 600_000 + i }));
    const plan = planMinute(due, now, 20);
    expect(plan.enqueue).toHaveLength(600);
    expect(plan.deferred).toHaveLength(400);
    expect(plan.enqueue[0]!.item.credential).toBe("c0000");
    expect(plan.deferred.every((deferred) => deferred.expiresAt! > plan.enqueue.at(-1)!.item.expiresAt!)).toBe(true);
    const perSecond = new Map<number, number>();
    for (const run of plan.enqueue) perSecond.set(run.delaySeconds, (perSecond.get(run.delaySeconds) ?? 0) + 1);
    expect([...perSecond.keys()]).toEqual(Array.from({ length: 60 }, (_, second) => second));
    expect(new Set(perSecond.values())).toEqual(new Set([10]));
  });

  it("never plans a credential held by a run in flight or a backoff, and rounds the budget down to whole refreshes", () => {
    const plan = planMinute([item({ credential: "free", retryAt: now }), item({ credential: "held", retryAt: now + 1 }), item({ credential: "new" })], now, 25);
    expect(plan.enqueue.map((run) => run.item.credential)).toEqual(["free", "new"]);
    expect(plan.held.map((held) => held.credential)).toEqual(["held"]);
    expect(refreshesPerSecond(25)).toBe(12);
    expect(refreshesPerSecond(2)).toBe(1);
    expect(planMinute(Array.from({ length: 70 }, (_, i) => item({ credential: `c${i}` })), now, 2).enqueue.at(-1)!.delaySeconds).toBe(59);
    expect(ENQUEUED_HOLD_MS).toBeGreaterThan(59_000);
  });
});

describe("the overdue rule (the fleet's dead-man's switch)", () => {
  const now = Date.UTC(2026, 0, 1, 12);
  const threshold = 600;

  it("a due credential late past the grace with less than the threshold left is overdue; before the grace it is not", () => {
    expect(isOverdue(item({ nextDueAt: now - OVERDUE_GRACE_MS, expiresAt: now + 9 * MINUTE }), now, threshold)).toBe(true);
    expect(isOverdue(item({ nextDueAt: now - OVERDUE_GRACE_MS + 1, expiresAt: now + 9 * MINUTE }), now, threshold)).toBe(false);
    expect(isOverdue(item({ nextDueAt: now - 5 * MINUTE, expiresAt: now - MINUTE }), now, threshold)).toBe(true);
    expect(isOverdue(item({ nextDueAt: now - 5 * MINUTE, expiresAt: now + 11 * MINUTE }), now, threshold)).toBe(false);
    expect(isOverdue(item({ nextDueAt: now + MINUTE, expiresAt: now + 2 * MINUTE }), now, threshold)).toBe(false);
  });

  it("a credential no run has seen an expiry for is overdue once it has been due for the threshold, counted from its registration", () => {
    expect(isOverdue(item({ nextDueAt: 0, createdAt: now - 10 * MINUTE }), now, threshold)).toBe(true);
    expect(isOverdue(item({ nextDueAt: 0, createdAt: now - 9 * MINUTE }), now, threshold)).toBe(false);
    expect(isOverdue(item({ nextDueAt: now - 11 * MINUTE }), now, threshold)).toBe(true);
  });
});

describe("what a run records", () => {
  const now = Date.UTC(2026, 0, 1, 12);
  const result = (over: Partial<RefreshResult>): RefreshResult => ({ credential: "c", outcome: "Refreshed", reason: "refreshed", apiCalls: 1, durationMs: 5, ...over });
  const stored = { versionId: "v2", expiresAt: new Date(now + 60 * MINUTE).toISOString(), dueAt: new Date(now + 45 * MINUTE).toISOString() };

  it("a refresh: the pair's due time and expiry, no retry", () => {
    expect(runRecord(item(), result(stored), now)).toEqual({ outcome: "Refreshed", reason: "refreshed", at: now, stored: { nextDueAt: now + 45 * MINUTE, expiresAt: now + 60 * MINUTE } });
  });

  it("failures retry after a backoff's end or the schedule interval; a busy credential after a minute", () => {
    expect(runRecord(item(), result({ outcome: "AppFrozen", reason: "backoff", backoffUntil: new Date(now + 20 * MINUTE).toISOString() }), now).retryAt).toBe(now + 20 * MINUTE);
    expect(runRecord(item(), result({ outcome: "RefreshFailed", reason: "NetworkError" }), now).retryAt).toBe(now + FAILURE_RETRY_MS);
    expect(runRecord(item(), result({ outcome: "Skipped", reason: "busy" }), now).retryAt).toBe(now + BUSY_RETRY_MS);
    expect(runRecord(item(), result({ outcome: "Skipped", reason: "not-due", ...stored }), now).retryAt).toBeUndefined();
  });

  it("a pair due at once keeps the time it became due; a run that read no pair leaves the item's", () => {
    expect(runRecord(item({ nextDueAt: now - 30 * MINUTE }), result({ outcome: "RefreshFailed", reason: "NeedsInitialRefreshTokenError", versionId: "v1" }), now).stored).toEqual({ nextDueAt: now - 30 * MINUTE });
    expect(runRecord(item({ nextDueAt: now + MINUTE }), result({ outcome: "RefreshFailed", reason: "X", versionId: "v1" }), now).stored).toEqual({ nextDueAt: now });
    expect(runRecord(item(), result({ outcome: "RefreshFailed", reason: "AccessDeniedException" }), now).stored).toBeUndefined();
  });
});

describe("a work-queue message", () => {
  it("names one valid credential, or the message is malformed", () => {
    expect(credentialOf(JSON.stringify({ credential: "erp-01" }))).toBe("erp-01");
    for (const body of ["not json", "null", "{}", JSON.stringify({ credential: 7 }), JSON.stringify({ credential: "#budget#1" }), JSON.stringify({ credential: "x".repeat(65) })]) {
      expect(() => credentialOf(body), body).toThrow(MalformedMessageError);
    }
  });
});
