// `npm run docs`: writes the pages generated from the code (docs/configuration.md, the generated
// parts of docs/construct.md, the tables of docs/cost.md).
import { writeFileSync } from "node:fs";
import { GENERATED_PAGES } from "./pages.js";

for (const { path, render } of GENERATED_PAGES) {
  writeFileSync(new URL(`../../${path}`, import.meta.url), render());
  process.stdout.write(`wrote ${path}\n`);
}
