/**
 * The one redaction step for every text that comes from the platform or from an exception, applied
 * before it reaches a message, log line, metric, event or CLI output (docs/security.md, "Beyond IAM").
 *
 * - Every secret value the run holds is replaced by `[redacted]` in its raw, URL-encoded
 *   (`encodeURIComponent`, upper- or lower-case hex), form-encoded (`application/x-www-form-urlencoded`:
 *   space as `+`) and JSON-escaped forms, wherever it occurs in the text. A PEM value is also redacted
 *   line by line, so a partial quote of a key is caught too.
 * - Terminal control sequences (ESC/CSI/OSC…) are removed whole; every other control or invisible
 *   formatting character (C0, DEL, C1, bidi embeddings/overrides/isolates, zero-width characters,
 *   line and paragraph separators) becomes a space; whitespace runs collapse: the result is one line.
 * - Error codes keep only a short word of letters, digits, `_`, `.`, `-`; descriptions and messages
 *   are cut to a bound, after redaction (so a cut never leaves the start of a secret behind).
 *
 * Tiny values: a value of MIN_SUBSTRING_CHARS (8) characters or more is redacted wherever it occurs.
 * Shorter values carry too little to be a secret, and matching them inside other words would wreck
 * the text (an appId "1" would turn "HTTP 401" into "HTTP 40[redacted]"): a value of 4 to 7
 * characters is redacted only where it stands alone (not next to a letter or digit), and one of fewer
 * than 4 characters not at all. Real appIds, secrets and tokens are far longer.
 */

export const REDACTED = "[redacted]";
/** Longest error code quoted (IoT `error_code` such as 100208, OAuth2 `error` such as invalid_grant). */
export const MAX_ERROR_CODE_CHARS = 64;
/** Longest platform error description quoted in a message. */
export const MAX_DESCRIPTION_CHARS = 200;
/** Longest exception message quoted in a log line, event or CLI output. */
export const MAX_MESSAGE_CHARS = 1_000;
/** Values at least this long are redacted wherever they occur. */
export const MIN_SUBSTRING_CHARS = 8;
/** Values shorter than this are not treated as secrets at all. */
export const MIN_SECRET_CHARS = 4;

/** The client secret's fields that are secret values (credentials and the PEM material), both dialects. */
export const CLIENT_SECRET_VALUE_FIELDS = ["appId", "secret", "clientId", "clientSecret", "clientKey", "clientCertificate", "caCertificate"] as const;

const ERROR_CODE = new RegExp(`^[A-Za-z0-9_.-]{1,${MAX_ERROR_CODE_CHARS}}$`);

/* eslint-disable no-control-regex -- these patterns exist to find control characters */
/** CSI (`ESC [ … final` or C1 CSI), string sequences (OSC, DCS, SOS, PM, APC up to BEL/ST) and two-character ESC sequences. */
const TERMINAL_SEQUENCE =
  /(?:\u001b\[|\u009b)[\u0030-\u003f]*[\u0020-\u002f]*[\u0040-\u007e]|(?:\u001b[\]PX^_]|[\u0090\u0098\u009d-\u009f])[^\u0007\u001b\u009c]*(?:\u0007|\u001b\\|\u009c)?|\u001b[\u0020-\u002f]*[\u0030-\u007e]?/g;
/** C0, DEL, C1, Arabic letter mark, Mongolian vowel separator, zero-width and bidi marks, line/paragraph separators, embeddings/overrides, isolates and other invisible operators, BOM, interlinear annotation. */
const INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]/g;
/* eslint-enable no-control-regex */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const HAS_LONE_SURROGATE = new RegExp(LONE_SURROGATE.source);

/** Removes terminal sequences and control/invisible characters; the result is one trimmed line. */
export function stripControls(text: string): string {
  return text.replace(TERMINAL_SEQUENCE, "").replace(INVISIBLE, " ").replace(LONE_SURROGATE, "\ufffd").replace(/\s+/g, " ").trim();
}

/**
 * For whole outputs to a terminal (the CLI's stdout and stderr): the same sequences and characters
 * removed, but line breaks and tabs kept, so a multi-line report keeps its shape.
 */
export function terminalSafe(text: string): string {
  return text.replace(TERMINAL_SEQUENCE, "").replace(INVISIBLE, (char) => (char === "\n" || char === "\t" ? char : "")).replace(LONE_SURROGATE, "\ufffd");
}

/** Cuts `text` to `maxChars`, marking the cut with "…" (never in the middle of a surrogate pair). */
function bound(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  return `${text.slice(0, maxChars).replace(/[\ud800-\udbff]$/, "")}…`;
}

/** The forms in which a value may appear in text a server or library wrote. */
function encodedForms(value: string): string[] {
  // encodeURIComponent throws on a lone surrogate; such a value has no percent form then.
  const percent = HAS_LONE_SURROGATE.test(value) ? value : encodeURIComponent(value);
  const form = new URLSearchParams([["", value]]).toString().slice(1);
  const json = JSON.stringify(value).slice(1, -1);
  const jsonAscii = json.replace(/[\u0080-\uffff]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`);
  const lowerHex = (encoded: string) => encoded.replace(/%[0-9A-F]{2}/g, (escape) => escape.toLowerCase());
  return [
    value,
    percent,
    lowerHex(percent),
    form,
    lowerHex(form),
    json,
    json.replace(/\//g, "\\/"),
    jsonAscii,
    jsonAscii.replace(/\\u([0-9a-f]{4})/g, (_escape, hex: string) => `\\u${hex.toUpperCase()}`),
  ];
}

/** The base64 lines of a PEM value (each one secret on its own when the value is a key). */
function pemLines(value: string): string[] {
  if (!value.includes("-----BEGIN ")) return [];
  return value
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length >= MIN_SUBSTRING_CHARS && !line.startsWith("-----"));
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * Knows every secret value a run holds and cleans texts before they are quoted. Dialects build one
 * from the client secret and the request's tokens; `describeError` takes one for exception texts.
 */
export class Redactor {
  private readonly values = new Set<string>();
  private pattern: RegExp | null | undefined;

  /** Registers secret values; undefined and values shorter than MIN_SECRET_CHARS are ignored. */
  add(...values: readonly (string | undefined)[]): this {
    for (const value of values) {
      if (value === undefined || value.length < MIN_SECRET_CHARS) continue;
      for (const secret of [value, ...pemLines(value)]) this.values.add(secret);
      this.pattern = undefined;
    }
    return this;
  }

  /** Registers the client secret's credential and PEM fields (CLIENT_SECRET_VALUE_FIELDS) that are strings. */
  addClientSecret(clientSecret: Readonly<Record<string, unknown>>): this {
    return this.add(...CLIENT_SECRET_VALUE_FIELDS.map((field) => clientSecret[field]).filter((value) => typeof value === "string"));
  }

  /** `text` with every registered value removed and controls stripped: one line, not bounded. */
  redact(text: string): string {
    // Again after stripping: a sequence the server put inside a value no longer splits it.
    return this.replaceSecrets(stripControls(this.replaceSecrets(text)));
  }

  /** A description or message for quoting: redacted, one line, at most `maxChars`; undefined when not a string or empty. */
  text(value: unknown, maxChars: number = MAX_DESCRIPTION_CHARS): string | undefined {
    if (typeof value !== "string") return undefined;
    const text = this.redact(value);
    return text ? bound(text, maxChars) : undefined;
  }

  /** An error code for quoting: kept only when, redacted, it is a short word of letters, digits, `_`, `.`, `-`. */
  code(value: unknown): string | undefined {
    if (typeof value !== "string" && typeof value !== "number") return undefined;
    const code = this.redact(String(value));
    return ERROR_CODE.test(code) ? code : undefined;
  }

  private replaceSecrets(text: string): string {
    const pattern = (this.pattern ??= this.compile());
    return pattern ? text.replace(pattern, REDACTED) : text;
  }

  /** One pattern for all forms of all values, longest first so a value is never redacted only in part. */
  private compile(): RegExp | null {
    const anywhere = new Set<string>();
    const standalone = new Set<string>();
    for (const value of this.values) {
      for (const form of encodedForms(value)) (value.length >= MIN_SUBSTRING_CHARS ? anywhere : standalone).add(form);
    }
    const alternatives = (forms: Set<string>) => [...forms].sort((a, b) => b.length - a.length).map(escapeRegExp).join("|");
    const parts = [
      ...(anywhere.size ? [alternatives(anywhere)] : []),
      ...(standalone.size ? [`(?<![A-Za-z0-9])(?:${alternatives(standalone)})(?![A-Za-z0-9])`] : []),
    ];
    return parts.length ? new RegExp(parts.join("|"), "g") : null;
  }
}

/** A text with no known secrets to remove (controls stripped, bounded); undefined when not a string or empty. */
export function cleanText(value: unknown, maxChars: number = MAX_MESSAGE_CHARS): string | undefined {
  return new Redactor().text(value, maxChars);
}

/** An error code with no known secrets to remove: kept only when it is a short word (see Redactor.code). */
export function cleanErrorCode(value: unknown): string | undefined {
  return new Redactor().code(value);
}
