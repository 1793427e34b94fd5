// PLACEHOLDER, replaced by the fleet runtime (branch fleet-run): the construct's synth needs the
// bundle dist/fleet/worker/index.mjs to exist. Deployed as it is, it fails every invocation loudly.
export const handler = (): Promise<never> => Promise.reject(new Error("token-refresher fleet worker: placeholder handler, not the fleet runtime"));
