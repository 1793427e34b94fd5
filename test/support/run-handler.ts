// Invokes the real Lambda entry (lambda/handler.ts) once, configured by the environment, as a
// separate process: tests kill it mid-run to leave a lease behind, as a crashed Lambda would.
const { handler } = await import("../../lambda/handler.js");
const result = await handler(process.argv[2] === "--force" ? { force: true } : {});
process.stdout.write(`RESULT ${JSON.stringify({ outcome: result.outcome, reason: result.reason })}\n`);
