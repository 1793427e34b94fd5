import { describe, expect, it } from "vitest";
import { accessTokenSecondsLeft, parseTokenDocument } from "../../lambda/secrets/token-store.js";

describe("parseTokenDocument", () => {
  it("treats an empty secret and {} as no pair yet", () => {
    expect(parseTokenDocument("")).toEqual(expect.objectContaining({ accessToken: undefined, refreshToken: undefined }));
    expect(parseTokenDocument("{}").refreshToken).toBeUndefined();
  });

  it.each([
    ["not json", /token secret: SecretString is not valid JSON/],
    ["[1,2]", /SecretString must be a JSON object/],
    ['{"accessToken": 42}', /token secret: accessToken must be a string, got number/],
    ['{"expiresAt": "tomorrow"}', /token secret: expiresAt must be an ISO-8601 UTC timestamp/],
    [JSON.stringify({ refreshToken: "r".repeat(9_000) }), /refreshToken is longer than 8192 characters/],
  ])("rejects %s with an error naming the field", (text, message) => {
    expect(() => parseTokenDocument(text)).toThrow(message);
  });

  it("ignores the bookkeeping the first write protocol kept in the secret (lease, basedOnVersionId)", () => {
    const old = { accessToken: "a", refreshToken: "r", lease: { owner: "x", until: "2026-01-01T00:00:00.000Z" }, basedOnVersionId: "v1" };
    expect(parseTokenDocument(JSON.stringify(old))).toEqual({ accessToken: "a", refreshToken: "r" });
  });

  it("never echoes a field's value in the error", () => {
    expect(() => parseTokenDocument('{"accessToken": ["SECRET-VALUE"]}')).toThrow(/^(?!.*SECRET-VALUE)/);
  });
});

describe("accessTokenSecondsLeft", () => {
  const now = Date.parse("2026-11-22T12:00:00.000Z");
  it("counts whole seconds to expiresAt, and 0 once expired", () => {
    expect(accessTokenSecondsLeft({ accessToken: "a", expiresAt: "2026-11-22T12:10:00.500Z" }, now)).toBe(600);
    expect(accessTokenSecondsLeft({ accessToken: "a", expiresAt: "2026-11-22T11:00:00.000Z" }, now)).toBe(0);
  });
  it("is undefined without an access token or an expiry", () => {
    expect(accessTokenSecondsLeft({ expiresAt: "2026-11-22T12:10:00.000Z" }, now)).toBeUndefined();
    expect(accessTokenSecondsLeft({ accessToken: "a" }, now)).toBeUndefined();
  });
});
