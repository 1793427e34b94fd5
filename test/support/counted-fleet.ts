// What a fleet costs, counted (docs/cost.md, docs/fleet.md): one IoT credential registered in a fleet
// against moto behind an AWS front that logs every call, a scheduler minute that finds it due and
// enqueues it, the worker running its message, and a scheduler minute that finds nothing due. Shared
// by `npm run bench` (test/bench/cost.ts) and test/docs/cost.test.ts.
import { ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { startIotPlatform } from "../../bin/local/iot-platform.js";
import type { CallCounts, FleetUsage } from "../../bin/docs/cost/model.js";
import type { RunOutcome } from "../../lambda/telemetry/telemetry.js";
import type { AwsFront } from "./aws-front.js";
import { uniqueName } from "./aws.js";
import { declaredMetrics, frontCalls } from "./counted-day.js";
import { addIotCredential, createFleetParts, fleetRuntime, fleetScheduler, fleetWorker, sqsEvent } from "./fleet.js";
import { FAST_RETRY, testPki } from "./iot-fixture.js";
import { registerSensitive } from "./leak-guard.js";

/** The stored pair has this long left: inside the default refresh window, so the credential is due. */
const SECONDS_LEFT = 5 * 60;

export interface CountedFleet {
  /** The counted usage, as the cost model takes it but for the stack's alarms (`stackFacts` of the synthesized fleet). */
  readonly usage: Omit<FleetUsage, "alarmMetrics">;
  /** The run's outcome (a refresh unless something is wrong with the setup). */
  readonly outcome: RunOutcome;
  /** The whole minute that found the credential due, its queries included. */
  readonly dueMinute: CallCounts;
}

const bytesOf = (lines: readonly string[]): number => lines.reduce((sum, line) => sum + Buffer.byteLength(line), 0);

/** Subtracts `less` from `calls`, dropping what is left at 0. */
function without(calls: CallCounts, less: CallCounts): Record<string, number> {
  const left: Record<string, number> = { ...calls };
  for (const [call, count] of Object.entries(less)) left[call] = (left[call] ?? 0) - count;
  return Object.fromEntries(Object.entries(left).filter(([, count]) => count !== 0));
}

/**
 * Counts one fleet refresh end to end through `front`: the scheduler's minute that claims and
 * enqueues the due credential, the worker handling its message (with the default event bus, as the
 * construct configures it), and the next minute, idle. The SQS event source's receive and delete are
 * Lambda's, not our code's: the message is received here and those calls are left out.
 */
export async function countFleetRefresh(front: AwsFront): Promise<CountedFleet> {
  const pki = await testPki();
  const platform = await startIotPlatform({ pki, appId: uniqueName("unused"), secret: "unused-secret", rateLimit: false, now: () => front.clock.now() });
  try {
    const parts = await createFleetParts(front.endpoint);
    const credential = await addIotCredential(parts, platform, pki, { now: front.clock.now(), secondsLeft: SECONDS_LEFT });
    registerSensitive(credential.app.currentAccessToken(), credential.app.currentRefreshToken());
    const schedulerLines: string[] = [];
    const workerLines: string[] = [];
    const scheduler = fleetScheduler(parts, { write: (line) => schedulerLines.push(line) });
    const { worker } = fleetWorker(parts, fleetRuntime(parts.stateTableName, { eventBusName: "default" }), { write: (line) => workerLines.push(line), run: { retryPolicy: FAST_RETRY } });

    front.reset();
    const due = await scheduler.run();
    const dueMinute = frontCalls(front);
    if (due.enqueued !== 1) throw new Error(`counted fleet: the scheduler enqueued ${due.enqueued} credentials, expected the one due`);

    const received = await parts.clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: parts.workQueueUrl, MaxNumberOfMessages: 1, WaitTimeSeconds: 1 }));
    front.reset();
    const { outcomes } = await worker.handle(sqsEvent(received.Messages ?? []));
    const workerCalls = frontCalls(front);
    registerSensitive(credential.app.currentAccessToken(), credential.app.currentRefreshToken());
    const [ran] = outcomes;
    if (ran?.kind !== "ran") throw new Error(`counted fleet: the worker did not run the credential (${ran?.kind ?? "no message"})`);

    front.clock.advance(60_000);
    const dueLines = schedulerLines.length;
    front.reset();
    const idle = await scheduler.run();
    const idleMinute = frontCalls(front);
    if (idle.due !== 0) throw new Error(`counted fleet: ${idle.due} credentials still due after the refresh`);

    const metrics = new Set([...schedulerLines, ...workerLines].flatMap((line) => declaredMetrics(JSON.parse(line) as Record<string, unknown>)));
    return {
      usage: {
        enqueue: without(dueMinute, idleMinute),
        worker: workerCalls,
        idleMinute,
        workerLogBytes: bytesOf(workerLines),
        minuteLogBytes: bytesOf(schedulerLines.slice(dueLines)),
        metrics: metrics.size,
      },
      outcome: ran.result.outcome,
      dueMinute,
    };
  } finally {
    await platform.close();
  }
}
