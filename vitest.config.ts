import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/global-setup.ts"],
    setupFiles: ["test/setup-env.ts"],
    // The SDK's notice that future versions need Node 22 (the Lambda runtime is 22) is noise here.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two files at once (vitest's default on two cores is one): the fleet's simulated hour mostly
    // waits on its queue's real delays. Secrets are named per test, so files never share state.
    pool: "forks",
    maxWorkers: 2,
    passWithNoTests: false,
  },
});
