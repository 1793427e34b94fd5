// The leak guard (test/support/leak-guard.ts) finds a registered value in every form it can be printed in.
import { describe, expect, it } from "vitest";
import { leakedSecrets, registerSensitive } from "../support/leak-guard.js";

const VALUE = 'guard/value+with "quote" ü';
registerSensitive(VALUE);

describe("leak guard", () => {
  it.each([
    ["raw", VALUE, ""],
    ["URL-encoded", encodeURIComponent(VALUE), ", url-encoded"],
    ["URL-encoded, lower-case hex", encodeURIComponent(VALUE).toLowerCase(), ", url-encoded"],
    ["form-encoded", new URLSearchParams({ v: VALUE }).toString().slice(2), ", form-encoded"],
    ["JSON-escaped in a log line", JSON.stringify({ message: VALUE }), ", JSON-escaped"],
    ["JSON-escaped twice (a JSON body quoted in a JSON log line)", JSON.stringify({ message: JSON.stringify({ secret: VALUE }) }), ", JSON-escaped twice"],
  ])("finds the value %s", (_form, text, label) => {
    expect(leakedSecrets(`before ${text} after`)).toEqual([`guar…(${VALUE.length} chars${label})`]);
  });

  it("finds one line of a registered PEM key", () => {
    const line = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj";
    const pem = `-----BEGIN PRIVATE KEY-----\n${line}\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKX\n-----END PRIVATE KEY-----\n`;
    registerSensitive(pem);
    expect(leakedSecrets(`key line ${line}`)).toEqual([`----…(${pem.length} chars, PEM line)`]);
  });

  it("finds nothing in text without a registered value", () => {
    expect(leakedSecrets("refresh_token=[redacted]&client_secret=[redacted]")).toEqual([]);
  });
});
