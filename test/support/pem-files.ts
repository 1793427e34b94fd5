import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestPki } from "../../bin/local/pki.js";

export interface PemFiles {
  /** `init`'s flags that name the files: --ca-cert-file, --client-cert-file, --client-key-file. */
  readonly flags: readonly string[];
  remove(): Promise<void>;
}

/** The test PKI's CA certificate, client certificate and key as files, the way an operator hands them to `init`. */
export async function writePemFiles(pki: TestPki, prefix: string): Promise<PemFiles> {
  const dir = await mkdtemp(join(tmpdir(), `token-refresher-${prefix}-`));
  const files: [flag: string, name: string, pem: string][] = [
    ["ca-cert-file", "ca.pem", pki.caPem],
    ["client-cert-file", "client.pem", pki.client.certPem],
    ["client-key-file", "client.key", pki.client.keyPem],
  ];
  const flags: string[] = [];
  for (const [flag, name, pem] of files) {
    await writeFile(join(dir, name), pem);
    flags.push(`--${flag}`, join(dir, name));
  }
  return { flags, remove: () => rm(dir, { recursive: true, force: true }) };
}
