import { describe, expect, it } from "vitest";
import { leakedSecrets, registerSensitive } from "../support/leak-guard.js";

describe("leak guard", () => {
  it("finds a registered secret in text and reports it without printing it whole", () => {
    registerSensitive("tok-4f9a8b7c6d5e");
    expect(leakedSecrets('{"message":"oops tok-4f9a8b7c6d5e"}')).toEqual(["tok-…(16 chars)"]);
    expect(leakedSecrets('{"message":"fine"}')).toEqual([]);
  });
});
