// docs/configuration.md, rendered from the settings table (lambda/config/table.ts) and the rule set
// (lambda/config/rules.ts): `npm run docs` writes it, and a test fails when the checked-in page is stale.
import { variableOf } from "../../lambda/config/index.js";
import { CROSS_RULES } from "../../lambda/config/rules.js";
import { SETTINGS, SETTING_FIELDS, type Setting, type SettingField, type SettingGroup } from "../../lambda/config/table.js";
import { humanAmount, type ValueKind } from "../../lambda/config/values.js";

const GROUPS: readonly { readonly group: SettingGroup; readonly title: string; readonly about: string }[] = [
  {
    group: "credential",
    title: "Credential settings",
    about:
      "One credential: what a refresh run takes per call (`runRefresh(deps, credential)`). The Lambda reads them from its environment, the CLI from its flags, the environment or `--function`, the construct from its props, the CDK configuration file from each entry of `credentials` (or `defaults`).",
  },
  {
    group: "runtime",
    title: "Runtime settings",
    about: "What a run needs besides its credential: where the state lives, how long a run may take, where it reports. The construct derives most of them from its props.",
  },
  {
    group: "fleet",
    title: "Fleet settings",
    about: "A fleet deployment (docs/fleet.md): credentials as data, one scheduler, a queue and workers. Its functions carry these; the CLI's fleet commands read them with `--function`.",
  },
  {
    group: "stack",
    title: "Stack settings",
    about: "What only the construct and the CDK configuration file know: the function, its schedule, its alarms and the secrets it creates or imports.",
  },
  { group: "cli", title: "The operator's shell", about: "Read by the CLI only." },
];

const code = (text: string | undefined) => (text === undefined ? "—" : `\`${text}\``);

/** What values a kind allows, in words. */
function allowed(kind: ValueKind): string {
  switch (kind.kind) {
    case "text":
      return kind.what;
    case "integer":
      return `${humanAmount(kind.min, kind.unit)} – ${humanAmount(kind.max, kind.unit)}${kind.multipleOf ? `, whole ${humanAmount(kind.multipleOf, kind.unit).replace(/^1 /, "")}s` : ""}`;
    case "choice":
      return kind.values.map((value) => code(String(value))).join(", ");
    case "https-url":
      return "an `https://` URL without credentials";
    case "boolean":
      return "`true` or `false`";
    case "list":
      return `comma-separated ${kind.item.what}`;
    case "rule":
      return kind.what;
  }
}

function defaultOf(setting: Setting): string {
  if (setting.required) return "required";
  if (setting.derivedDefault) return setting.derivedDefault;
  if (setting.default === undefined) return "unset";
  if (setting.value.kind === "integer") return `${setting.default} (${humanAmount(setting.default as number, setting.value.unit)})`;
  return code(JSON.stringify(setting.default));
}

function jsonField(setting: Setting): string {
  const { json } = setting;
  if (!json) return "—";
  const where = json.at === "top" ? "" : "credentials[].";
  const unit = json.scale === 60 ? " (minutes)" : json.scale === 3_600 ? " (hours)" : "";
  return `${code(`${where}${json.field}`)}${unit}`;
}

const escape = (text: string) => text.replace(/\|/g, "\\|");

function row(field: SettingField): string {
  const setting: Setting = SETTINGS[field];
  const meaning = `${setting.doc}${setting.dialects ? ` Only for the ${setting.dialects.join(" and ")} dialect${setting.dialects.length > 1 ? "s" : ""}.` : ""}`;
  const cells = [code(field), code(setting.env), setting.flag ? code(`--${setting.flag}`) : "—", code(setting.prop), jsonField(setting), defaultOf(setting), allowed(setting.value), meaning];
  return `| ${cells.map(escape).join(" | ")} |`;
}

export function renderConfigurationReference(): string {
  const sections = GROUPS.map(({ group, title, about }) => {
    const fields = SETTING_FIELDS.filter((field) => SETTINGS[field].group === group);
    return [
      `## ${title}`,
      "",
      about,
      "",
      "| Setting | Variable | CLI flag | Construct prop | Config file field | Default | Allowed | Meaning |",
      "|---|---|---|---|---|---|---|---|",
      ...fields.map(row),
      "",
    ].join("\n");
  });
  const rules = CROSS_RULES.map((rule) => `- ${rule.doc} (reported on ${code(rule.field)})`).join("\n");
  return `# Configuration reference

<!-- Generated from lambda/config/table.ts and lambda/config/rules.ts by \`npm run docs\`. Do not edit: a test fails when this page is stale. -->

Every setting of token-refresher, once. The Lambda's environment parser, the construct, the CDK
configuration file, the CLI (flags, help, hints, \`--function\`) and this page all derive from one
table, and every value is checked by one rule set. Each place names a setting its own way: an
environment variable (\`environment variable ${variableOf("refreshWindowSeconds")} must be …\`), a construct prop
(\`TokenRefresher Stack/Erp: refreshWindow must be …\`), a path in the configuration file
(\`credentials[1].refreshWindowMinutes must be …\`) or a flag (hint: \`set it with --refresh-window\`);
the problem after the name is the same everywhere.

Durations are kept in seconds or milliseconds; the configuration file takes some in minutes or
hours, as its field names say. A setting marked for some dialects is a mistake for the others (in
\`defaults\` of the configuration file, it applies only to the credentials whose dialect uses it).

${sections.join("\n")}
## Rules across settings

Checked wherever the settings involved are known (the Lambda's environment has no schedule; the
construct has no explicit run budget, it derives one from the timeout):

${rules}
`;
}
