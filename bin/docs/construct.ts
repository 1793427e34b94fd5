// The generated parts of docs/construct.md: the props, alarm options, properties and methods of the
// `TokenRefresher` construct, read from the JSDoc of infra/token-refresher/props.ts and index.ts with
// the TypeScript parser. The rest of the page is written by hand; each generated part stands between
// `<!-- generated:<name> -->` and `<!-- end generated:<name> -->`, and rendering replaces only those.
import { readFileSync } from "node:fs";
import ts from "typescript";
import * as props from "../../infra/token-refresher/props.js";

const PAGE = "docs/construct.md";
const PROPS_FILE = "infra/token-refresher/props.ts";
const CONSTRUCT_FILE = "infra/token-refresher/index.ts";

function parse(path: string): ts.SourceFile {
  return ts.createSourceFile(path, readFileSync(new URL(`../../${path}`, import.meta.url), "utf8"), ts.ScriptTarget.Latest, true);
}

/** A JSDoc text on one line, `{@link X}` as code. */
function oneLine(text: string): string {
  return text
    .replace(/\{@link\s+([^}\s]+)\s*\}/g, "`$1`")
    .replace(/\s*\n\s*/g, " ")
    .trim();
}

function docOf(node: ts.Node): { readonly text: string; readonly defaultText?: string } {
  const comments = ts.getJSDocCommentsAndTags(node).filter(ts.isJSDoc);
  const text = oneLine(comments.map((doc) => ts.getTextOfJSDocComment(doc.comment) ?? "").join(" "));
  const tag = ts.getJSDocTags(node).find((candidate) => candidate.tagName.text === "default");
  const defaultText = tag && oneLine(ts.getTextOfJSDocComment(tag.comment) ?? "");
  return defaultText === undefined ? { text } : { text, defaultText };
}

/** Where a `@default` ends its code and starts its remark: the first " (" outside parentheses. */
function splitRemark(text: string): [code: string, remark: string] {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === "(") {
      if (depth === 0 && text[i - 1] === " ") return [text.slice(0, i - 1), text.slice(i)];
      depth++;
    } else if (text[i] === ")") depth--;
  }
  return [text, ""];
}

/** A `@default`: "- words" is prose (the JSII convention), anything else code; an exported constant shows its value. */
function renderDefault(text: string | undefined, optional: boolean): string {
  if (!optional) return "required";
  if (text === undefined) return "—";
  if (text.startsWith("- ")) return text.slice(2);
  const [code, remark] = splitRemark(text);
  const constant = (props as Record<string, unknown>)[code];
  const value = typeof constant === "string" || typeof constant === "number" ? ` = \`${JSON.stringify(constant)}\`` : "";
  return `\`${code}\`${value}${remark ? ` ${remark}` : ""}`;
}

const cell = (text: string) => text.replace(/\|/g, "\\|");
const typeOf = (node: { readonly type?: ts.TypeNode }, file: ts.SourceFile) => (node.type ? `\`${node.type.getText(file).replace(/\s+/g, " ")}\`` : "—");

function interfaceNamed(file: ts.SourceFile, name: string): ts.InterfaceDeclaration {
  const found = file.statements.find((statement): statement is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(statement) && statement.name.text === name);
  if (!found) throw new Error(`${file.fileName} has no interface ${name}`);
  return found;
}

function propertyTable(file: ts.SourceFile, name: string, withDefault: boolean): string {
  const rows = interfaceNamed(file, name)
    .members.filter(ts.isPropertySignature)
    .map((member) => {
      const { text, defaultText } = docOf(member);
      const cells = [`\`${member.name.getText(file)}\``, typeOf(member, file), ...(withDefault ? [renderDefault(defaultText, member.questionToken !== undefined)] : []), text];
      return `| ${cells.map(cell).join(" | ")} |`;
    });
  const header = withDefault ? "| Prop | Type | Default | Description |\n|---|---|---|---|" : "| Key | Type | Description |\n|---|---|---|";
  return [header, ...rows].join("\n");
}

/** The alarm option interfaces: each field once, with the interfaces that have it. */
function alarmOptions(file: ts.SourceFile): string {
  const interfaces = ["RefresherAlarmOptions", "CountAlarmOptions", "AccessTokenTtlAlarmOptions", "RefreshTokenTtlAlarmOptions"];
  const sections = interfaces.map((name) => {
    const declaration = interfaceNamed(file, name);
    const base = declaration.heritageClauses?.flatMap((clause) => clause.types.map((type) => type.expression.getText(file))) ?? [];
    return `\`${name}\`${base.length ? ` (extends ${base.map((type) => `\`${type}\``).join(", ")})` : ""}: ${docOf(declaration).text}\n\n${propertyTable(file, name, true)}`;
  });
  return sections.join("\n\n");
}

function constructClass(file: ts.SourceFile): ts.ClassDeclaration {
  const found = file.statements.find((statement): statement is ts.ClassDeclaration => ts.isClassDeclaration(statement) && statement.name?.text === "TokenRefresher");
  if (!found) throw new Error(`${file.fileName} has no class TokenRefresher`);
  return found;
}

const isPublic = (member: ts.ClassElement) =>
  !(ts.getCombinedModifierFlags(member) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) && !(member.name && ts.isPrivateIdentifier(member.name));

function properties(file: ts.SourceFile): string {
  const rows = constructClass(file)
    .members.filter((member): member is ts.PropertyDeclaration => ts.isPropertyDeclaration(member) && isPublic(member))
    .map((member) => `| \`${member.name.getText(file)}\` | ${cell(typeOf(member, file))} | ${cell(documented(member, file))} |`);
  return ["| Property | Type | Description |", "|---|---|---|", ...rows].join("\n");
}

/** A public member's JSDoc; the reference has a line for every member, so one without is an error. */
function documented(member: ts.ClassElement, file: ts.SourceFile): string {
  const { text } = docOf(member);
  if (!text) throw new Error(`${file.fileName}: TokenRefresher.${member.name?.getText(file)} has no JSDoc for docs/construct.md`);
  return text;
}

function methods(file: ts.SourceFile): string {
  const rows = constructClass(file)
    .members.filter((member): member is ts.MethodDeclaration => ts.isMethodDeclaration(member) && isPublic(member))
    .map((member) => {
      const parameters = member.parameters.map((parameter) => parameter.getText(file).replace(/\s+/g, " ")).join(", ");
      const signature = `${member.name.getText(file)}(${parameters}): ${member.type?.getText(file) ?? "void"}`;
      return `| \`${cell(signature)}\` | ${cell(documented(member, file))} |`;
    });
  return ["| Method | Description |", "|---|---|", ...rows].join("\n");
}

/** The generated parts, by name. */
function parts(): Record<string, string> {
  const propsFile = parse(PROPS_FILE);
  const constructFile = parse(CONSTRUCT_FILE);
  return {
    props: propertyTable(propsFile, "TokenRefresherProps", true),
    alarms: `${propertyTable(propsFile, "TokenRefresherAlarms", false)}\n\n${alarmOptions(propsFile)}`,
    properties: properties(constructFile),
    methods: methods(constructFile),
  };
}

/** docs/construct.md as it is, with every generated part rendered from the code again. */
export function renderConstructReference(): string {
  const page = readFileSync(new URL(`../../${PAGE}`, import.meta.url), "utf8");
  let rendered = page;
  for (const [name, content] of Object.entries(parts())) {
    const start = `<!-- generated:${name} from ${name === "properties" || name === "methods" ? CONSTRUCT_FILE : PROPS_FILE} by \`npm run docs\` -->`;
    const end = `<!-- end generated:${name} -->`;
    const from = rendered.indexOf(start);
    const to = rendered.indexOf(end);
    if (from < 0 || to < from) throw new Error(`${PAGE} lacks the markers of its generated part "${name}": ${start} … ${end}`);
    rendered = `${rendered.slice(0, from + start.length)}\n${content}\n${rendered.slice(to)}`;
  }
  return rendered;
}
