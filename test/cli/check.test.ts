// `token-refresher check`: step-by-step reachability against the IoT simulator's mutual-TLS server.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startIotPlatform, type IotPlatform } from "../../bin/local/iot-platform.js";
import { createSecret, uniqueName } from "../support/aws.js";
import { testPki } from "../support/iot-fixture.js";
import { installLeakGuard, leakedSecrets, registerSensitive } from "../support/leak-guard.js";
import type { TestPki } from "../../bin/local/pki.js";
import { diagnoseTls } from "../../bin/cli/commands/check.js";
import { runCli } from "./run-cli.js";

installLeakGuard();

let pki: TestPki;
let platform: IotPlatform;
const appId = uniqueName("check-app");
const appSecret = `check-secret-${uniqueName("s")}`;

beforeAll(async () => {
  pki = await testPki();
  registerSensitive(appSecret, pki.client.keyPem, pki.foreignClient.keyPem);
  platform = await startIotPlatform({ pki, appId, secret: appSecret });
});

afterAll(() => platform.close());

/** Runs `check` with a client secret made of the base fields plus `tls` (undefined fields left out). */
async function check(tls: Record<string, string | undefined>, env: Record<string, string> = {}) {
  const clientSecretId = uniqueName("check-client");
  await createSecret(clientSecretId, { appId, secret: appSecret, ...tls });
  const run = await runCli(["check"], { env: { CLIENT_SECRET_ID: clientSecretId, ENDPOINT_URL: platform.baseUrl, CREDENTIAL_NAME: "", TOKEN_SECRET_ID: "", ...env } });
  expect(leakedSecrets(run.stdout + run.stderr)).toEqual([]);
  return run;
}

const trusted = () => ({ caCertificate: pki.caPem, clientCertificate: pki.client.certPem, clientKey: pki.client.keyPem });

describe("check", () => {
  it("passes DNS, TCP, TLS and HTTP with the right CA and client certificate, without a token call", async () => {
    const before = platform.calls;
    const run = await check(trusted());
    expect(run.code).toBe(0);
    // The test PKI's certificates live one day: check warns about the client certificate's expiry.
    expect(run.stdout).toMatch(/^WARN {2}client secret {2}CA: caCertificate \(CN=token-refresher test CA.*; client certificate: CN=token-refresher test client, valid until \S+ — EXPIRES WITHIN 14 DAYS$/m);
    expect(run.stdout).toMatch(/^OK {4}DNS {12}localhost → /m);
    expect(run.stdout).toMatch(/^OK {4}TCP {12}connected to /m);
    expect(run.stdout).toMatch(/^OK {4}TLS {12}TLSv1\.3, server CN=localhost issued by CN=token-refresher test CA.*client certificate presented and accepted/m);
    expect(run.stdout).toMatch(/^OK {4}HTTP {11}GET \/iocm\/app\/sec\/v1\.1\.0\/refreshToken answered 405/m);
    expect(run.stdout).toMatch(/reachable\n$/);
    expect([platform.calls.login, platform.calls.refresh]).toEqual([before.login, before.refresh]);
  });

  it("diagnoses a server certificate from an unknown authority: no caCertificate", async () => {
    const run = await check({ ...trusted(), caCertificate: undefined });
    expect(run.code).toBe(4);
    expect(run.stdout).toMatch(/^FAIL {2}TLS {12}certificate signed by unknown authority \(\w+\) — set caCertificate in the client secret/m);
    expect(run.stdout).toContain("not reachable: the TLS step failed");
    expect(run.stdout).not.toMatch(/HTTP/);
  });

  it("diagnoses a caCertificate that did not issue the server's certificate", async () => {
    const run = await check({ ...trusted(), caCertificate: pki.foreignCaPem });
    expect(run.code).toBe(4);
    expect(run.stdout).toContain("the caCertificate in the client secret did not issue the server's certificate");
  });

  it("diagnoses a missing client certificate", async () => {
    const run = await check({ caCertificate: pki.caPem });
    expect(run.code).toBe(4);
    expect(run.stdout).toMatch(/client certificate: none/);
    expect(run.stdout).toMatch(/^FAIL {2}TLS {12}the server requires a client certificate .* set clientCertificate and clientKey in the client secret/m);
  });

  it("diagnoses a client certificate the server does not trust", async () => {
    const run = await check({ caCertificate: pki.caPem, clientCertificate: pki.foreignClient.certPem, clientKey: pki.foreignClient.keyPem });
    expect(run.code).toBe(4);
    expect(run.stdout).toMatch(/^FAIL {2}TLS {12}the server refused the client certificate/m);
  });

  it("catches a client key that does not belong to the certificate before connecting", async () => {
    const run = await check({ caCertificate: pki.caPem, clientCertificate: pki.client.certPem, clientKey: pki.foreignClient.keyPem });
    expect(run.code).toBe(2);
    expect(run.stdout).toMatch(/^FAIL {2}client secret {2}clientKey does not belong to clientCertificate/m);
  });

  it("names the fix for certificate name, expiry and protocol errors", () => {
    const altnames = "Hostname/IP does not match certificate's altnames: Host: iot.example. is not in the cert's altnames: DNS:localhost, IP Address:127.0.0.1";
    expect(diagnoseTls("ERR_TLS_CERT_ALTNAME_INVALID", altnames, {}, false)).toBe(
      "the server's certificate does not name this host (it names DNS:localhost, IP Address:127.0.0.1) — use one of those names in ENDPOINT_URL",
    );
    expect(diagnoseTls("CERT_HAS_EXPIRED", "certificate has expired", {}, false)).toContain("has expired");
    expect(diagnoseTls("ERR_SSL_WRONG_VERSION_NUMBER", "", {}, false)).toContain("does not speak TLS on this port");
    expect(diagnoseTls(undefined, "", { cert: "x", key: "y" }, true)).toContain("refused the client certificate");
  });

  it("diagnoses DNS and TCP failures", async () => {
    const dns = await check(trusted(), { ENDPOINT_URL: "https://no-such-host.invalid:8743" });
    expect(dns.code).toBe(4);
    expect(dns.stdout).toMatch(/^FAIL {2}DNS {12}cannot resolve no-such-host\.invalid \(ENOTFOUND\): no such host/m);

    const closed = await startIotPlatform({ pki, appId, secret: appSecret });
    await closed.close();
    const tcp = await check(trusted(), { ENDPOINT_URL: closed.baseUrl });
    expect(tcp.code).toBe(4);
    expect(tcp.stdout).toMatch(/^FAIL {2}TCP {12}cannot connect to .* \(ECONNREFUSED\): connection refused/m);
  });

  it("exits 2 when the client secret is missing", async () => {
    const run = await runCli(["check"], { env: { CLIENT_SECRET_ID: uniqueName("absent"), ENDPOINT_URL: platform.baseUrl } });
    expect(run.code).toBe(2);
    expect(run.stdout).toContain("ResourceNotFoundException — create it with token-refresher init");
  });

  it("reports as JSON", async () => {
    const run = await check(trusted(), {});
    const clientSecretId = uniqueName("check-json");
    await createSecret(clientSecretId, { appId, secret: appSecret, ...trusted() });
    const json = await runCli(["check", "--json"], { env: { CLIENT_SECRET_ID: clientSecretId, ENDPOINT_URL: platform.baseUrl } });
    expect(run.code).toBe(0);
    const parsed = JSON.parse(json.stdout) as { reachable: boolean; steps: { step: string; status: string }[] };
    expect(parsed.reachable).toBe(true);
    expect(parsed.steps.map((s) => `${s.step}:${s.status}`)).toEqual(["client secret:warn", "DNS:ok", "TCP:ok", "TLS:ok", "HTTP:ok"]);
  });
});
