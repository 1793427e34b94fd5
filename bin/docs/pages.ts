import { renderConfigurationReference } from "./configuration.js";

/** The docs pages generated from the code, by path from the repository root (test/docs checks they are current). */
export const GENERATED_PAGES: readonly { readonly path: string; readonly render: () => string }[] = [{ path: "docs/configuration.md", render: renderConfigurationReference }];
