import { renderConfigurationReference } from "./configuration.js";
import { renderConstructReference } from "./construct.js";

/**
 * The docs pages generated from the code, by path from the repository root (test/docs checks they are
 * current). docs/construct.md is written by hand except its generated parts, which `render` fills in.
 */
export const GENERATED_PAGES: readonly { readonly path: string; readonly render: () => string }[] = [
  { path: "docs/configuration.md", render: renderConfigurationReference },
  { path: "docs/construct.md", render: renderConstructReference },
];
