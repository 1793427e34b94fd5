// The redaction step (lambda/redaction.ts) on its own, and where the product applies it to texts
// that do not need a network: the dialects' error mapping, describeError, telemetry and the CLI.
import { describe, expect, it } from "vitest";
import { CliError, EXIT, exitCodeForResult } from "../../bin/cli/errors.js";
import { outcomeLine } from "../../bin/cli/format.js";
import { describeError, PlatformError } from "../../lambda/errors.js";
import { iotError } from "../../lambda/iot/auth-client.js";
import { oauth2Error } from "../../lambda/oauth2/token-client.js";
import {
  MAX_DESCRIPTION_CHARS,
  MAX_ERROR_CODE_CHARS,
  MAX_MESSAGE_CHARS,
  REDACTED,
  Redactor,
  cleanErrorCode,
  stripControls,
  terminalSafe,
} from "../../lambda/redaction.js";
import { Telemetry, type RefreshResult } from "../../lambda/telemetry/telemetry.js";
import { eventsClient } from "../support/aws.js";
import { testPki } from "../support/iot-fixture.js";
import { leakedSecrets, registerSensitive } from "../support/leak-guard.js";

/** A secret with every character class that encodes differently: / + space & " \ and non-ASCII. */
const SECRET = 's3cr3t/with+plus &"quote"\\ü=end';
const TOKEN = "rt/AB+cd==EFghIJklMNopQRstUVwxYZ0123456789";
registerSensitive(SECRET, TOKEN);

/** C0 (but for nothing), DEL, C1, bidi embeddings/overrides/isolates, zero-width, line separators. */
// eslint-disable-next-line no-control-regex -- the test looks for exactly these characters
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/;

const forms = (value: string): Record<string, string> => {
  const json = JSON.stringify(value).slice(1, -1);
  return {
    raw: value,
    "URL-encoded": encodeURIComponent(value),
    "URL-encoded, lower-case hex": encodeURIComponent(value).replace(/%[0-9A-F]{2}/g, (escape) => escape.toLowerCase()),
    "form-encoded": new URLSearchParams({ v: value }).toString().slice(2),
    "JSON-escaped": json,
    "JSON-escaped with \\/": json.replace(/\//g, "\\/"),
    "JSON-escaped as ASCII": json.replace(/[\u0080-\uffff]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`),
  };
};

describe("Redactor: every form of every value", () => {
  const redactor = new Redactor().add(SECRET, TOKEN);

  it.each(Object.entries(forms(SECRET)))("removes the secret %s, also inside a longer word", (_form, text) => {
    expect(text).not.toBe(""); // the form differs from the others for this secret
    expect(redactor.redact(`before${text}after`)).toBe(`before${REDACTED}after`);
  });

  it.each(Object.entries(forms(TOKEN)))("removes the token %s", (_form, text) => {
    expect(redactor.redact(`refresh_token=${text}&client_id=x`)).toBe(`refresh_token=${REDACTED}&client_id=x`);
  });

  it("finds these forms to differ, so each one is really exercised", () => {
    expect(new Set(Object.values(forms(SECRET))).size).toBe(7);
  });

  it("removes a form-encoded request body and a JSON body quoted whole", () => {
    const form = new URLSearchParams({ grant_type: "refresh_token", refresh_token: TOKEN, client_secret: SECRET }).toString();
    const json = JSON.stringify({ appId: "app-12345678", secret: SECRET, refreshToken: TOKEN });
    const text = redactor.redact(`could not parse ${form} nor ${json}`);
    expect(text).toBe(`could not parse grant_type=refresh_token&refresh_token=${REDACTED}&client_secret=${REDACTED} nor {"appId":"app-12345678","secret":"${REDACTED}","refreshToken":"${REDACTED}"}`);
    expect(leakedSecrets(text)).toEqual([]);
  });

  it("removes the longest value first, so no part of it stays", () => {
    const shorter = "abcdefgh12";
    const longer = `${shorter}XYZ-more-characters`;
    expect(new Redactor().add(shorter, longer).redact(`${longer} and ${shorter}`)).toBe(`${REDACTED} and ${REDACTED}`);
  });

  it("removes a private key whole, JSON-escaped, and any single line of it", async () => {
    const key = (await testPki()).client.keyPem;
    const keyRedactor = new Redactor().add(key);
    const line = key.split("\n")[3]!;
    expect(line.length).toBeGreaterThan(40);
    for (const text of [key, JSON.stringify(key), encodeURIComponent(key), `the key line ${line} is bad`, key.replace(/\n/g, "\r\n")]) {
      const redacted = keyRedactor.redact(text);
      expect(redacted).toContain(REDACTED);
      expect(redacted).not.toContain(line);
      expect(leakedSecrets(redacted)).toEqual([]);
    }
  });

  it("knows which client secret fields are secret values", () => {
    const redactor = new Redactor().addClientSecret({ appId: "app-12345678", secret: SECRET, clientId: "client-1234", clientSecret: TOKEN, tokenPath: "/oauth2/token-path" });
    expect(redactor.redact(`app-12345678 ${SECRET} client-1234 ${TOKEN} /oauth2/token-path`)).toBe(`${REDACTED} ${REDACTED} ${REDACTED} ${REDACTED} /oauth2/token-path`);
  });

  it("copes with a value that is not well-formed UTF-16 (no percent form exists for it)", () => {
    const odd = "broken\ud800value";
    expect(new Redactor().add(odd).redact(`x ${odd} y`)).toBe(`x ${REDACTED} y`);
  });

  it("removes a value that a control sequence was put into", () => {
    expect(redactor.redact(`token ${TOKEN.slice(0, 10)}\u001b[0m${TOKEN.slice(10)} end`)).toBe(`token ${REDACTED} end`);
  });
});

describe("Redactor: tiny values", () => {
  it("never treats values under 4 characters as secrets (an appId '1' leaves 'HTTP 401' alone)", () => {
    const redactor = new Redactor().add("1", "ab", "xyz");
    expect(redactor.redact("HTTP 401 after 1 attempt: xyz ab")).toBe("HTTP 401 after 1 attempt: xyz ab");
  });

  it("redacts values of 4 to 7 characters only where they stand alone", () => {
    const redactor = new Redactor().add("app1", "s3c/r+t");
    expect(redactor.redact("appId=app1&secret=s3c%2Fr%2Bt")).toBe(`appId=${REDACTED}&secret=${REDACTED}`);
    expect(redactor.redact('{"appId":"app1"} happ1ness app12 s3c/r+tx')).toBe(`{"appId":"${REDACTED}"} happ1ness app12 s3c/r+tx`);
  });

  it("redacts values of 8 characters or more everywhere", () => {
    expect(new Redactor().add("app12345").redact("xapp12345y")).toBe(`x${REDACTED}y`);
  });
});

describe("control characters", () => {
  it.each([
    ["CSI colour", "\u001b[1;31mred\u001b[0m text", "red text"],
    ["clear screen and cursor moves", "\u001b[2J\u001b[Hhome\u001b[10;20Hmoved", "homemoved"],
    ["OSC window title ended by BEL", "\u001b]0;pwned\u0007after", "after"],
    ["OSC hyperlink ended by ST", "\u001b]8;;https://evil.example\u001b\\link\u001b]8;;\u001b\\", "link"],
    ["C1 CSI", "\u009b31mred", "red"],
    ["two-character ESC sequence", "a\u001bcb", "ab"],
    ["lone ESC", "end\u001b", "end"],
    ["NUL, BEL, backspace, DEL", "a\u0000b\u0007c\u0008d\u007fe", "a b c d e"],
    ["CR and LF (log injection)", 'line\r\n{"level":"INFO"}', 'line {"level":"INFO"}'],
    ["bidi override and isolates", "abc\u202edcba\u2066x\u2069", "abc dcba x"],
    ["zero-width and BOM", "a\u200bb\ufeffc", "a b c"],
    ["line and paragraph separators", "a\u2028b\u2029c", "a b c"],
    ["lone surrogate", "a\ud800b", "a\ufffdb"],
  ])("strips %s", (_name, input, expected) => {
    expect(stripControls(input)).toBe(expected);
    expect(stripControls(input)).not.toMatch(CONTROL);
  });

  it("keeps printable non-ASCII text", () => {
    expect(stripControls("Fehler: Schlüssel ungültig — 认证失败 🙂")).toBe("Fehler: Schlüssel ungültig — 认证失败 🙂");
  });

  it("terminalSafe keeps line breaks and tabs of a multi-line output, and removes the rest", () => {
    expect(terminalSafe("OK  \tstep\n\u001b[31mFAIL\u001b[0m \u202elast\n")).toBe("OK  \tstep\nFAIL last\n");
  });
});

describe("bounds", () => {
  it.each([
    ["100208", "100208"],
    [100247, "100247"],
    ["invalid_grant", "invalid_grant"],
    ["APIGW.0301", "APIGW.0301"],
    ["temporarily-unavailable", "temporarily-unavailable"],
    ["x".repeat(MAX_ERROR_CODE_CHARS), "x".repeat(MAX_ERROR_CODE_CHARS)],
    ["x".repeat(MAX_ERROR_CODE_CHARS + 1), undefined],
    ["bad code", undefined],
    ['bad"code', undefined],
    ["<script>", undefined],
    ["\u001b[31m100208\u0007", "100208"],
    ["", undefined],
    [null, undefined],
    [{ code: 1 }, undefined],
  ])("error code %j → %j", (input, expected) => {
    expect(cleanErrorCode(input)).toBe(expected);
  });

  it("does not quote an error code that carries a secret", () => {
    expect(new Redactor().add("app-1234567").code("E-app-1234567")).toBeUndefined();
  });

  it("cuts descriptions after redaction, so a cut never leaves the start of a secret", () => {
    const text = new Redactor().add(TOKEN).text(`${"x".repeat(MAX_DESCRIPTION_CHARS - 5)}${TOKEN} more`)!;
    expect(text.length).toBe(MAX_DESCRIPTION_CHARS + 1);
    expect(text.endsWith("…")).toBe(true);
    expect(text).not.toContain(TOKEN.slice(0, 5));
  });

  it("quotes error codes and descriptions of both dialects alike", () => {
    const redactor = new Redactor().add(SECRET);
    const cases: [unknown, unknown][] = [
      ["x".repeat(MAX_ERROR_CODE_CHARS + 1), "d".repeat(1_000)],
      ["\u001b[31m100208", `secret ${SECRET}\r\n\u202e`],
      ["APIGW.0301", "ok"],
      [`E-${encodeURIComponent(SECRET)}`, 42],
    ];
    for (const [code, description] of cases) {
      const iot = iotError("refreshToken", { status: 400, json: { error_code: code, error_desc: description } }, redactor);
      const oauth2 = oauth2Error({ status: 400, json: { error: code, error_description: description } }, redactor);
      expect(iot.errorCode).toBe(oauth2.errorCode);
      expect(iot.errorCode).toBe(redactor.code(code));
      const quoted = (error: PlatformError) => error.message.replace(/^.* answered HTTP 400 ?(error_code )?/, "");
      expect(quoted(iot)).toBe(quoted(oauth2));
      expect(iot.message.length).toBeLessThan(MAX_DESCRIPTION_CHARS + 100);
      expect(iot.message).not.toMatch(CONTROL);
      expect(leakedSecrets(iot.message + oauth2.message)).toEqual([]);
    }
  });
});

describe("exception texts", () => {
  it("describeError strips control characters, bounds the length and removes the values its redactor knows", () => {
    const error = new Error(`failed for ${encodeURIComponent(TOKEN)}\u001b[2J\n${"y".repeat(2_000)}`);
    const text = describeError(error, new Redactor().add(TOKEN));
    expect(text.startsWith(`Error: failed for ${REDACTED} yyy`)).toBe(true);
    expect(text.length).toBe(MAX_MESSAGE_CHARS + 1);
    expect(text).not.toMatch(CONTROL);
  });

  it("describeError describes any thrown value, even one that cannot be turned into a string", () => {
    expect(describeError("plain\u0007 string")).toBe("plain string");
    expect(describeError(Object.create(null))).toBe("a thrown value that cannot be described");
  });

  it("telemetry writes the message, reason and error code of a result only through the redaction step", async () => {
    const lines: string[] = [];
    const telemetry = new Telemetry({ namespace: "Test", eventBusName: "", events: eventsClient(), write: (line) => lines.push(line) });
    const result: RefreshResult = {
      credential: "c",
      outcome: "RefreshFailed",
      reason: "Weird\u001b[31mError",
      apiCalls: 1,
      durationMs: 5,
      httpStatus: 400,
      errorCode: `\u001b]0;x\u0007${"9".repeat(100)}`,
      message: `PlatformError: bad\r\n{"level":"INFO","forged":true}\u202e${"z".repeat(2_000)}`,
    };
    await telemetry.report(result);
    const line = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(lines[0]!.trim().split("\n")).toHaveLength(1);
    expect(line.errorCode).toBeUndefined();
    expect(line.reason).toBe("WeirdError");
    expect(line.message).toMatch(/^PlatformError: bad \{"level":"INFO","forged":true\} z+…$/);
    expect((line.message as string).length).toBe(MAX_MESSAGE_CHARS + 1);
    expect(JSON.stringify(line)).not.toMatch(/\\u00(1b|07|0d|0a)|\\u202e/i);
  });
});

describe("CLI texts", () => {
  it("a CliError's message is one clean line", () => {
    expect(new CliError("AWS: denied\u001b[2J\r\nforged line\u009b1m", "usage").message).toBe("AWS: denied forged line");
  });

  it("the outcome line cleans the run's message and reason", () => {
    const line = outcomeLine({
      credential: "c",
      outcome: "RefreshFailed",
      reason: "PlatformError\u001b[0m",
      apiCalls: 1,
      durationMs: 3,
      message: "IoT answered\u001b]0;t\u0007 HTTP 400\u202e",
    });
    expect(line).toBe("RefreshFailed (PlatformError), 1 API call in 3 ms\n  IoT answered HTTP 400");
  });

  it("a discarded pair exits 1 like other failed refreshes", () => {
    expect(exitCodeForResult({ credential: "c", outcome: "PairDiscarded", reason: "PairDiscardedError", apiCalls: 1, durationMs: 1 })).toBe(EXIT.failed);
  });
});
