import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

/** A moto_server (local AWS emulator) on a free loopback port. */
export interface MotoServer {
  readonly endpoint: string;
  stop(): Promise<void>;
}

const INSTALL_HINT = "moto_server was not found on PATH: install it with  pip install 'moto[server]'";

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

export async function startMoto(): Promise<MotoServer> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn("moto_server", ["-H", "127.0.0.1", "-p", String(port)], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4_000)));
  const exited = new Promise<Error>((resolve) => {
    child.once("error", (error: NodeJS.ErrnoException) => resolve(error.code === "ENOENT" ? new Error(INSTALL_HINT) : error));
    child.once("exit", (code) => resolve(new Error(`moto_server exited with code ${code}: ${stderr}`)));
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await Promise.race([gone, sleep(3_000).then(() => child.kill("SIGKILL"))]);
  };
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const failed = await Promise.race([exited, sleep(100).then(() => undefined)]);
    if (failed) throw failed;
    try {
      const answer = await fetch(`${endpoint}/moto-api/`);
      if (answer.ok) return { endpoint, stop };
    } catch {
      // not listening yet
    }
  }
  await stop();
  throw new Error(`moto_server did not answer on ${endpoint} within 20 s: ${stderr}`);
}
