// The README and docs/ stand on their own: every relative link and #anchor resolves (by GitHub's
// heading slugs), docs/README.md lists every page, the README stays short, and every page and section
// the code cites ("docs/protocol.md, "Time"", "README, "…"") exists.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = normalize(join(import.meta.dirname, "..", ".."));
const read = (path: string) => readFileSync(join(ROOT, path), "utf8");
const PAGES = ["README.md", ...readdirSync(join(ROOT, "docs")).filter((name) => name.endsWith(".md")).map((name) => `docs/${name}`)];
const README_MAX_LINES = 350;

/** The lines of a Markdown text outside fenced code blocks. */
function proseLines(text: string): string[] {
  let fence: string | undefined;
  return text.split("\n").filter((line) => {
    const marker = /^\s*(`{3,}|~{3,})/.exec(line)?.[1];
    if (marker && (fence === undefined || marker.startsWith(fence))) {
      fence = fence === undefined ? marker : undefined;
      return false;
    }
    return fence === undefined;
  });
}

/** GitHub's anchor for a heading: its text, lower case, without punctuation, spaces as hyphens. */
function slug(heading: string): string {
  const text = heading
    .replace(/`([^`]*)`/g, "$1")
    .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/<[^>]+>/g, "");
  return text
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "")
    .replace(/ /g, "-");
}

const headings = (text: string) => proseLines(text).flatMap((line) => /^#{1,6}\s+(.+?)\s*#*\s*$/.exec(line)?.[1] ?? []);

/** The anchors GitHub gives a page's headings; a repeated slug gets -1, -2, … */
function anchorsOf(text: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const heading of headings(text)) {
    const base = slug(heading);
    const count = seen.get(base) ?? 0;
    anchors.add(count === 0 ? base : `${base}-${count}`);
    seen.set(base, count + 1);
  }
  return anchors;
}

/** Link targets of a page (inline links and images), outside code. */
function linksOf(text: string): string[] {
  return proseLines(text).flatMap((line) => [...line.replace(/`[^`]*`/g, "").matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((match) => match[1]!));
}

/** Where a relative link leads, from the repository root, or why it does not. */
function brokenLink(from: string, target: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return undefined; // https:, mailto:
  const [path = "", anchor] = target.split("#", 2);
  const file = path === "" ? from : normalize(join(dirname(from), decodeURIComponent(path)));
  if (file.startsWith("..")) return `${target} leaves the repository`;
  if (!existsSync(join(ROOT, file))) return `${target}: no ${file}`;
  if (anchor === undefined) return undefined;
  if (statSync(join(ROOT, file)).isDirectory() || !file.endsWith(".md")) return `${target}: an anchor in ${file}, which is not a Markdown page`;
  return anchorsOf(read(file)).has(anchor) ? undefined : `${target}: ${file} has no heading with the anchor #${anchor}`;
}

describe("GitHub heading anchors", () => {
  it.each([
    ["How a refresh run works", "how-a-refresh-run-works"],
    ["`client_credentials` (service-to-service tokens)", "client_credentials-service-to-service-tokens"],
    ["The `token-refresher` CLI", "the-token-refresher-cli"],
    ["Timeout: 40 s, split in three", "timeout-40-s-split-in-three"],
    ["Operator patterns: a wildcard stays within one path segment", "operator-patterns-a-wildcard-stays-within-one-path-segment"],
    ["Tokens, scope & audience — limits", "tokens-scope--audience--limits"],
  ])("%s → #%s", (heading, anchor) => {
    expect(slug(heading)).toBe(anchor);
  });

  it("numbers a repeated heading, and skips headings in code blocks", () => {
    expect([...anchorsOf("# Errors\n\n## Errors\n\n```bash\n# not a heading\n```\n")]).toEqual(["errors", "errors-1"]);
  });
});

describe("the README and docs/", () => {
  it.each(PAGES)("every relative link and anchor in %s resolves", (page) => {
    const broken = linksOf(read(page)).flatMap((target) => brokenLink(page, target) ?? []);
    expect(broken).toEqual([]);
  });

  it("finds the links it checks (the README links docs/ pages and their sections)", () => {
    const links = linksOf(read("README.md"));
    expect(links).toContain("docs/README.md");
    expect(links.filter((link) => /^docs\/[\w-]+\.md#/.test(link)).length).toBeGreaterThan(5);
  });

  it("docs/README.md lists every page in docs/", () => {
    const listed = new Set(linksOf(read("docs/README.md")).map((target) => target.split("#")[0]));
    const pages = PAGES.filter((page) => page.startsWith("docs/") && page !== "docs/README.md").map((page) => relative("docs", page));
    expect(pages.filter((page) => !listed.has(page))).toEqual([]);
  });

  it(`README.md has at most ${README_MAX_LINES} lines`, () => {
    const lines = read("README.md").split("\n").length - 1;
    expect(lines).toBeLessThanOrEqual(README_MAX_LINES);
  });
});

/** The source files whose comments and messages cite the docs. */
function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.(ts|mjs)$/.test(entry.name) ? [path] : [];
  });
}

describe("the code's citations of the docs", () => {
  // This file's own comments show the patterns it looks for.
  const files = ["lambda", "infra", "bin", "test"].flatMap(sourceFiles).filter((file) => file !== "test/docs/links.test.ts");

  it("name pages that exist", () => {
    const missing = files.flatMap((file) => [...read(file).matchAll(/\bdocs\/([\w-]+\.md)/g)].flatMap((match) => (existsSync(join(ROOT, "docs", match[1]!)) ? [] : [`${file}: docs/${match[1]}`])));
    expect(missing).toEqual([]);
  });

  it('name sections that exist: (docs/page.md, "Section") and (README, "Section")', () => {
    const cited = files.flatMap((file) =>
      [...read(file).matchAll(/\b(README(?:\.md)?|docs\/[\w-]+\.md)(?:'s)?,? "([^"]+)"/g)].map((match) => ({ file, page: match[1] === "README" ? "README.md" : match[1]!, section: match[2]!.replace(/\s*\n\s*(\*|\/\/)?\s*/g, " ") })),
    );
    expect(cited.length).toBeGreaterThan(20);
    const missing = cited.filter(({ page, section }) => !existsSync(join(ROOT, page)) || !headings(read(page)).some((heading) => heading.replace(/`/g, "").startsWith(section.replace(/`/g, ""))));
    expect(missing.map(({ file, page, section }) => `${file}: ${page}, "${section}"`)).toEqual([]);
  });
});
