// The typed clients as the package exports them (package.json "exports", built to dist/ by the test
// setup): docs/clients.md's import paths resolve, and a client from the bundle works.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IotAuthClient, PlatformError } from "token-refresher/iot";
import { OAuth2TokenClient, PlatformError as OAuth2PlatformError } from "token-refresher/oauth2";
import { startIotPlatform, type IotPlatform } from "../../bin/local/iot-platform.js";
import { uniqueName } from "../support/aws.js";
import { testPki } from "../support/iot-fixture.js";
import { registerSensitive } from "../support/leak-guard.js";
import type { TestPki } from "../../bin/local/pki.js";

const APP_ID = uniqueName("entry-app");
const SECRET = `entry-secret-${uniqueName("s")}`;
registerSensitive(SECRET);

let pki: TestPki;
let platform: IotPlatform;

beforeAll(async () => {
  pki = await testPki();
  platform = await startIotPlatform({ pki, appId: APP_ID, secret: SECRET, rateLimit: false });
});
afterAll(() => platform.close());

describe("token-refresher/iot and token-refresher/oauth2", () => {
  it("IotAuthClient from the bundle logs in over mutual TLS and throws the entry's own PlatformError", async () => {
    const client = new IotAuthClient({
      endpointUrl: platform.baseUrl,
      appId: APP_ID,
      secret: SECRET,
      caCertificate: pki.caPem,
      clientCertificate: pki.client.certPem,
      clientKey: pki.client.keyPem,
    });
    try {
      const result = await client.login();
      registerSensitive(result.accessToken, result.refreshToken);
      expect(platform.isValidAccessToken(result.accessToken)).toBe(true);
      platform.failNext("frozen");
      await expect(client.login()).rejects.toSatisfy((error) => error instanceof PlatformError && error.errorCode === "100247");
    } finally {
      await client.close();
    }
  });

  it("OAuth2TokenClient and its error classes are exported", () => {
    expect(typeof OAuth2TokenClient.fromClientSecret).toBe("function");
    expect(new OAuth2PlatformError("x", { httpStatus: 400, errorCode: "invalid_grant" })).toMatchObject({ httpStatus: 400, errorCode: "invalid_grant" });
  });
});
