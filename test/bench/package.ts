// npm run bench, package figures: what `npm pack` ships, what a service that only reads the token
// installs with it, and what a consumer's first synth costs (the projects test/consumer/consumer.test.ts
// builds: pack, offline installs, tsc, synth).
import { createConsumerProjects } from "../consumer/consumer-project.js";

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export async function benchPackage(): Promise<void> {
  console.log("\n== package (npm pack), a reader-only service and a consumer CDK app using it");
  const consumer = await createConsumerProjects();
  try {
    const { packed, service, timings } = consumer;
    const handler = packed.files.filter((file) => file.path.startsWith("dist/handler/")).reduce((sum, file) => sum + file.size, 0);
    console.log(`tarball                      ${(packed.size / 1024).toFixed(1)} KiB (${(packed.unpackedSize / 1024).toFixed(1)} KiB unpacked)`);
    console.log(`files                        ${packed.files.length} (handler asset ${(handler / 1024).toFixed(1)} KiB)`);
    console.log(`reader-only node_modules     ${(service.nodeModulesBytes / 1e6).toFixed(1)} MB, ${service.packages.length} packages (target <= 25 MB)`);
    console.log(`npm pack (build if changed)  ${seconds(timings.packMs)}`);
    console.log(`offline install, service     ${seconds(timings.serviceInstallMs)}`);
    console.log(`offline install, CDK app     ${seconds(timings.appInstallMs)}`);
    console.log(`consumer tsc (service, app)  ${seconds(timings.typecheckMs)}`);
    console.log(`consumer synth               ${seconds(timings.synthMs)}`);
  } finally {
    consumer.remove();
  }
}
