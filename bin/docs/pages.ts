import { renderConfigurationReference } from "./configuration.js";
import { renderCostPage } from "./cost/page.js";

/** The docs pages generated from the code (of docs/cost.md, its marked tables), by path from the repository root (test/docs checks they are current). */
export const GENERATED_PAGES: readonly { readonly path: string; readonly render: () => string }[] = [
  { path: "docs/configuration.md", render: renderConfigurationReference },
  { path: "docs/cost.md", render: () => renderCostPage() },
];
