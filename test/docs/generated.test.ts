// The reference pages generated from the code are checked in; this fails when one is stale
// (run `npm run docs` and commit the result).
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { GENERATED_PAGES } from "../../bin/docs/pages.js";
import { SETTINGS, SETTING_FIELDS } from "../../lambda/config/table.js";

describe("generated docs", () => {
  it.each(GENERATED_PAGES.map((page) => [page.path, page] as const))("%s is current (npm run docs)", (path, page) => {
    expect(readFileSync(path, "utf8")).toBe(page.render());
  });

  it("the configuration reference has a row for every setting, with its variable, flag, prop and config field", () => {
    const page = readFileSync("docs/configuration.md", "utf8");
    for (const field of SETTING_FIELDS) {
      const setting = SETTINGS[field] as { env?: string; flag?: string; prop?: string; json?: { field: string } };
      const line = page.split("\n").find((row) => row.startsWith(`| \`${field}\` |`));
      expect(line, field).toBeDefined();
      for (const name of [setting.env, setting.flag && `--${setting.flag}`, setting.prop, setting.json?.field]) if (name) expect(line, field).toContain(name);
    }
  });
});
