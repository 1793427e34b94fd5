// npm run bench, package figures: what `npm pack` ships and what a consumer's first synth costs
// (the project test/consumer/consumer.test.ts builds: pack, offline install, tsc, synth).
import { createConsumerProject } from "../consumer/consumer-project.js";

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export async function benchPackage(): Promise<void> {
  console.log("\n== package (npm pack) and a consumer CDK app using it");
  const consumer = await createConsumerProject();
  try {
    const { packed, timings } = consumer;
    const handler = packed.files.filter((file) => file.path.startsWith("dist/handler/")).reduce((sum, file) => sum + file.size, 0);
    console.log(`tarball                      ${(packed.size / 1024).toFixed(1)} KiB (${(packed.unpackedSize / 1024).toFixed(1)} KiB unpacked)`);
    console.log(`files                        ${packed.files.length} (handler asset ${(handler / 1024).toFixed(1)} KiB)`);
    console.log(`npm pack (build included)    ${seconds(timings.packMs)}`);
    console.log(`offline install              ${seconds(timings.installMs)}`);
    console.log(`consumer tsc (app, service)  ${seconds(timings.typecheckMs)}`);
    console.log(`consumer synth               ${seconds(timings.synthMs)}`);
  } finally {
    consumer.remove();
  }
}
