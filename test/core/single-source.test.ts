// One home for each setting (docs/configuration.md): outside the settings table, no product file
// spells a setting's environment variable; everything else asks the table for it.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SETTING_VARIABLES } from "../../lambda/config/table.js";

const TABLE = "lambda/config/table.ts";

function productFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return productFiles(path);
    return /\.(ts|mts|mjs|js)$/.test(name) ? [path] : [];
  });
}

describe("the settings table is the one place a variable is named", () => {
  it("no product file under lambda/, infra/ or bin/ spells a setting's variable", () => {
    const pattern = new RegExp(`(?<![A-Za-z0-9_])(${SETTING_VARIABLES.join("|")})(?![A-Za-z0-9_])`, "g");
    const hits = ["lambda", "infra", "bin"]
      .flatMap(productFiles)
      .filter((path) => path !== TABLE)
      .flatMap((path) =>
        readFileSync(path, "utf8")
          .split("\n")
          .flatMap((line, index) => [...line.matchAll(pattern)].map((match) => `${path}:${index + 1}: ${match[1]}`)),
      );
    expect(hits).toEqual([]);
  });

  it("the check would see a variable spelled in product code", () => {
    expect(SETTING_VARIABLES.length).toBeGreaterThan(15);
    expect(readFileSync(TABLE, "utf8")).toContain(`"${SETTING_VARIABLES[0]}"`);
  });
});
