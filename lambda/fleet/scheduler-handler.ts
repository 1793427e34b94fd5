// PLACEHOLDER, replaced by the fleet runtime (branch fleet-run): the construct's synth needs the
// bundle dist/fleet/scheduler/index.mjs to exist. Deployed as it is, it fails every invocation loudly.
export const handler = (): Promise<never> => Promise.reject(new Error("token-refresher fleet scheduler: placeholder handler, not the fleet runtime"));
