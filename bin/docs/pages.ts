import { renderConfigurationReference } from "./configuration.js";
import { renderConstructReference } from "./construct.js";
import { renderCostPage } from "./cost/page.js";

/**
 * The docs pages generated from the code, by path from the repository root (test/docs checks they are
 * current). docs/construct.md and docs/cost.md are written by hand except their generated parts,
 * which `render` fills in.
 */
export const GENERATED_PAGES: readonly { readonly path: string; readonly render: () => string }[] = [
  { path: "docs/configuration.md", render: renderConfigurationReference },
  { path: "docs/construct.md", render: renderConstructReference },
  { path: "docs/cost.md", render: () => renderCostPage() },
];
