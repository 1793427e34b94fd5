import { inject, test as base } from "vitest";
import { startAwsFront, type AwsFront } from "../support/aws-front.js";

/**
 * A test with its own AWS front before the suite's moto (docs/development.md, "Testing"): faults, latency and a
 * compressed clock stay inside the test. Secrets and tables live in the same moto as everyone's.
 */
export const test = base.extend<{ front: AwsFront }>({
  // eslint-disable-next-line no-empty-pattern -- vitest reads the fixture's dependencies from this parameter
  front: async ({}, use) => {
    const front = await startAwsFront({ upstream: inject("motoEndpoint") });
    await use(front);
    await front.close();
  },
});
