// The one rule set for settings (docs/configuration.md, "Rules across settings"): each value's kind and limits from
// the table, which dialects use it, and the rules across settings. It answers `{field, problem}`;
// the environment parser, the construct, the CDK configuration file and the CLI each name the field
// their own way (a variable, a prop, a JSON path, a flag).
import { LEASE_MARGIN_SECONDS, RUN_BUDGET_RESERVE_SECONDS, isOAuth2Dialect, type DialectName } from "../settings.js";
import { SETTINGS, setting, type SettingField } from "./table.js";
import { humanDuration, valueProblem } from "./values.js";

/** One thing wrong with a setting; `problem` reads after the setting's name ("must be …"). */
export interface SettingProblem {
  readonly field: SettingField;
  readonly problem: string;
}

/** Values by field, in each setting's canonical unit; an absent field is unset. */
export type SettingValues = Partial<Record<SettingField, unknown>>;

/** The run budget of a function with this timeout: the rest is for writing an issued pair and reporting. */
export function runBudgetMsFor(timeoutSeconds: number): number {
  return (timeoutSeconds - RUN_BUDGET_RESERVE_SECONDS) * 1000;
}

/** The lease of a run with this budget: the whole invocation (budget + reserve) and a margin, so a live run never loses it. */
export function leaseSecondsFor(runBudgetMs: number): number {
  return Math.ceil(runBudgetMs / 1000) + RUN_BUDGET_RESERVE_SECONDS + LEASE_MARGIN_SECONDS;
}

/** `values` with every unset field of `fields` that has a default given it (the lease derived from the run budget). */
export function withDefaults(values: SettingValues, fields: readonly SettingField[]): SettingValues {
  const result: Record<string, unknown> = { ...values };
  const dialect = (values.dialect ?? setting("dialect").default) as DialectName;
  for (const field of fields) {
    const { default: fallback, dialects } = setting(field);
    if (result[field] !== undefined || fallback === undefined) continue;
    if (dialects && !dialects.includes(dialect)) continue;
    result[field] = fallback;
  }
  if (fields.includes("leaseSeconds") && result.leaseSeconds === undefined && typeof result.runBudgetMs === "number") {
    result.leaseSeconds = leaseSecondsFor(result.runBudgetMs);
  }
  return result;
}

/** A rule across settings: checked when all its inputs are set and valid; the problem is reported on `field`. */
export interface CrossRule {
  readonly field: SettingField;
  readonly inputs: readonly SettingField[];
  /** For docs/configuration.md. */
  readonly doc: string;
  readonly check: (values: Readonly<Record<SettingField, never>>, dialect: DialectName) => string | undefined;
}

/** The run budget in force: the explicit one (the Lambda's environment), or the one a timeout gives (the construct). */
const budgetOf = (values: Readonly<Record<string, unknown>>): { ms: number; text: string } => {
  const explicit = typeof values.runBudgetMs === "number";
  const ms = explicit ? (values.runBudgetMs as number) : runBudgetMsFor(values.timeoutSeconds as number);
  return { ms, text: `the run budget (${humanDuration(ms / 1000)}${explicit ? "" : `: the timeout minus ${RUN_BUDGET_RESERVE_SECONDS} s`})` };
};

/** Every rule across settings (docs/configuration.md, "Rules across settings"). */
export const CROSS_RULES: readonly CrossRule[] = [
  {
    field: "oauth2TokenPath",
    inputs: ["endpointUrl", "oauth2TokenPath"],
    doc: "The OAuth2 token path and the endpoint make an `https://` URL without credentials.",
    check: (v, dialect) => (isOAuth2Dialect(dialect) ? tokenUrlProblem(v.endpointUrl, v.oauth2TokenPath) : undefined),
  },
  {
    field: "tokenSecretId",
    inputs: ["clientSecretId", "tokenSecretId"],
    doc: "The token secret is not the client secret (consumers who can read the token must not be able to refresh).",
    check: (v) => (v.clientSecretId === v.tokenSecretId ? "must not be the client secret: consumers who can read the token secret must not be able to refresh" : undefined),
  },
  {
    field: "refreshWindowSeconds",
    inputs: ["scheduleIntervalSeconds", "refreshWindowSeconds"],
    doc: "The refresh window is longer than the schedule interval, or the token can expire between two runs.",
    check: (v) =>
      (v.refreshWindowSeconds as number) <= v.scheduleIntervalSeconds
        ? `must be longer than the schedule interval (${humanDuration(v.scheduleIntervalSeconds)}), or the token can expire between two runs`
        : undefined,
  },
  {
    field: "accessTokenTtlThresholdSeconds",
    inputs: ["accessTokenTtlThresholdSeconds", "refreshWindowSeconds"],
    doc: "The `AccessTokenTtl` alarm threshold is shorter than the refresh window, or the alarm fires on healthy runs.",
    check: (v) =>
      (v.accessTokenTtlThresholdSeconds as number) >= v.refreshWindowSeconds
        ? `must be shorter than the refresh window (${humanDuration(v.refreshWindowSeconds)}), or the alarm fires on healthy runs`
        : undefined,
  },
  {
    field: "timeoutSeconds",
    inputs: ["timeoutSeconds", "scheduleIntervalSeconds"],
    doc: "The Lambda timeout is shorter than the schedule interval.",
    check: (v) => ((v.timeoutSeconds as number) >= v.scheduleIntervalSeconds ? `must be shorter than the schedule interval (${humanDuration(v.scheduleIntervalSeconds)})` : undefined),
  },
  {
    field: "httpTimeoutMs",
    inputs: ["httpTimeoutMs"],
    doc: `One HTTP attempt fits in the run budget (the run budget setting, or the timeout minus ${RUN_BUDGET_RESERVE_SECONDS} s).`,
    check: (v) => {
      if (v.runBudgetMs === undefined && v.timeoutSeconds === undefined) return undefined;
      const budget = budgetOf(v);
      return (v.httpTimeoutMs as number) > budget.ms ? `must not exceed ${budget.text}` : undefined;
    },
  },
  {
    field: "leaseSeconds",
    inputs: ["leaseSeconds", "runBudgetMs"],
    doc: "The lease outlasts the run budget, so a live run never loses it.",
    check: (v) => {
      const budget = budgetOf(v);
      return (v.leaseSeconds as number) * 1000 <= budget.ms ? `must be longer than ${budget.text}` : undefined;
    },
  },
];

/**
 * Every problem of `values`: each set value against its kind, `required` fields that are unset,
 * settings set for a dialect that does not use them, and the rules across settings whose inputs are
 * all set and valid (so one mistake is reported once).
 */
export function settingProblems(values: SettingValues, required: readonly SettingField[] = []): SettingProblem[] {
  const problems: SettingProblem[] = [];
  const bad = new Set<SettingField>();
  const add = (field: SettingField, problem: string) => {
    problems.push({ field, problem });
    bad.add(field);
  };
  for (const field of required) if (values[field] === undefined || values[field] === "") add(field, "is required");
  for (const [field, value] of Object.entries(values) as [SettingField, unknown][]) {
    if (value === undefined || bad.has(field)) continue;
    const problem = valueProblem(SETTINGS[field].value, value);
    if (problem) add(field, problem);
  }
  const dialect = (values.dialect ?? setting("dialect").default) as DialectName;
  if (!bad.has("dialect")) {
    for (const [field, value] of Object.entries(values) as [SettingField, unknown][]) {
      const { dialects } = setting(field);
      if (value !== undefined && dialects && !dialects.includes(dialect)) {
        add(field, `is only used by the ${dialects.join(" and ")} dialect${dialects.length > 1 ? "s" : ""} (dialect is ${dialect})`);
      }
    }
  }
  const known = (field: SettingField) => values[field] !== undefined && !bad.has(field);
  for (const rule of CROSS_RULES) {
    if (!rule.inputs.every(known)) continue;
    const problem = rule.check(values as Record<SettingField, never>, dialect);
    if (problem) add(rule.field, problem);
  }
  return problems;
}

/**
 * The OAuth2 token endpoint: an absolute `https://` URL is used as it is; a path is appended to the
 * endpoint (so a base path in it, e.g. `https://gw.example.com/tenant`, is kept).
 */
export function oauth2TokenUrl(endpointUrl: string, tokenPath: string): string {
  const path = tokenPath.trim();
  return /^[a-z][a-z0-9+.-]*:/i.test(path) ? new URL(path).toString() : new URL(`${endpointUrl.replace(/\/+$/, "")}/${path.replace(/^\/+/, "")}`).toString();
}

function tokenUrlProblem(endpointUrl: string, tokenPath: string): string | undefined {
  let url: URL;
  try {
    url = new URL(oauth2TokenUrl(endpointUrl, tokenPath));
  } catch {
    return "does not make a valid URL with the endpoint";
  }
  if (url.protocol !== "https:") return "must make an https URL";
  if (url.username || url.password) return "must not contain credentials";
  return undefined;
}

/** The OAuth2 grant options a typed client or a client secret sets, and the settings whose rules they follow. */
export const OAUTH2_OPTION_SETTINGS = { clientAuth: "oauth2ClientAuth", scope: "oauth2Scope", audience: "oauth2Audience" } as const satisfies Record<string, SettingField>;
export type OAuth2Option = keyof typeof OAUTH2_OPTION_SETTINGS;

/** Why `value` is no valid OAuth2 option (the same rule as its setting's), or undefined. */
export function oauth2OptionProblem(option: OAuth2Option, value: unknown): string | undefined {
  return valueProblem(setting(OAUTH2_OPTION_SETTINGS[option]).value, value);
}
