// Helpers for the infrastructure tests: apps built with the same feature flags as cdk.json, and
// (except where a test needs the real bundle) asset bundling skipped, so a stack synthesizes in ms.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { App, Aspects, Stack } from "aws-cdk-lib";
import { Annotations, Match, Template } from "aws-cdk-lib/assertions";
import { AwsSolutionsChecks } from "cdk-nag";
import { TokenRefresher, TokenRefresherFleet, type TokenRefresherFleetProps, type TokenRefresherProps } from "../../infra/token-refresher/index.js";

export const ROOT = new URL("../../", import.meta.url);
export const ACCOUNT = "123456789012";
export const REGION = "eu-west-1";
export const ENV = { account: ACCOUNT, region: REGION };

/** cdk.json's context: the feature flags and the default "token-refresher" configuration. */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(new URL("cdk.json", ROOT), "utf8")) as { context: Record<string, unknown> };
  return cdkJson.context;
}

/** An app with cdk.json's feature flags; `bundle: false` skips esbuild (the asset is a placeholder). */
export function newApp(options: { bundle?: boolean; context?: Record<string, unknown> } = {}): App {
  const context: Record<string, unknown> = { ...cdkJsonContext(), ...options.context };
  if (!options.bundle) context["aws:cdk:bundling-stacks"] = [];
  return new App({ context });
}

/** A stack in a concrete environment, with cdk-nag's AwsSolutions checks applied. */
export function newStack(app: App = newApp(), id = "Test"): Stack {
  const stack = new Stack(app, id, { env: ENV });
  Aspects.of(stack).add(new AwsSolutionsChecks({ reports: false }));
  return stack;
}

export const IOT_PROPS: TokenRefresherProps = {
  credentialName: "plant-a",
  endpointUrl: "https://iot.example.com:8743",
};

/** A stack with one refresher; `props` override the IoT defaults above. */
export function refresherStack(props: Partial<TokenRefresherProps> = {}, id = "Test"): { stack: Stack; refresher: TokenRefresher; template: Template } {
  const stack = newStack(newApp(), id);
  const refresher = new TokenRefresher(stack, "Refresher", { ...IOT_PROPS, ...props });
  return { stack, refresher, template: Template.fromStack(stack) };
}

/** cdk-nag AwsSolutions errors and warnings left unsuppressed, as readable strings. */
export function nagFindings(stack: Stack): string[] {
  const annotations = Annotations.fromStack(stack);
  const pattern = Match.stringLikeRegexp("AwsSolutions-.*");
  return [...annotations.findError("*", pattern), ...annotations.findWarning("*", pattern)].map((finding) => {
    const data: unknown = finding.entry.data;
    return `${finding.id}: ${typeof data === "string" ? data : JSON.stringify(data)}`;
  });
}

/** Every resource of a type, as [logicalId, Properties]. */
export function resources(template: Template, type: string): [string, Record<string, unknown>][] {
  return Object.entries(template.findResources(type)).map(([id, resource]) => [id, (resource as { Properties: Record<string, unknown> }).Properties]);
}

/** The one resource of a type (fails when there are several). */
export function onlyResource(template: Template, type: string): [string, Record<string, unknown>] {
  const found = resources(template, type);
  if (found.length !== 1) throw new Error(`expected exactly one ${type}, found ${found.length}`);
  return found[0]!;
}

/** `{ Ref: id }` of the one resource of a type. */
export function refOf(template: Template, type: string): { Ref: string } {
  return { Ref: onlyResource(template, type)[0] };
}

/** `{ "Fn::GetAtt": [id, "Arn"] }` of the one resource of a type. */
export function arnOf(template: Template, type: string, logicalId?: string): { "Fn::GetAtt": [string, string] } {
  return { "Fn::GetAtt": [logicalId ?? onlyResource(template, type)[0], "Arn"] };
}

/** A resource as it stands in the template (DependsOn, DeletionPolicy, ...). */
export function rawResource(template: Template, logicalId: string): { DependsOn?: unknown; DeletionPolicy?: string; UpdateReplacePolicy?: string } {
  return (template.toJSON() as { Resources: Record<string, { DependsOn?: unknown; DeletionPolicy?: string }> }).Resources[logicalId]!;
}

/** Every string anywhere in a JSON value (keys excluded). */
export function allStrings(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.flatMap(allStrings);
  if (value && typeof value === "object") return Object.values(value).flatMap(allStrings);
  return [];
}

export interface Lint {
  code: number | null;
  output: string;
}

/** cfn-lint (on PATH) on template files: its exit code and its findings, one per line. */
export function cfnLint(files: string[]): Promise<Lint> {
  return new Promise((resolve, reject) => {
    const child = spawn("cfn-lint", ["--format", "parseable", ...files], { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.once("error", (error: NodeJS.ErrnoException) =>
      reject(error.code === "ENOENT" ? new Error("cfn-lint was not found on PATH: install it with  pip install cfn-lint") : error),
    );
    child.once("close", (code) => resolve({ code, output }));
  });
}

/** A stack (cdk-nag applied) with one TokenRefresherFleet; `props` override `fleetName: "plants"`. */
export function fleetStack(props: Partial<TokenRefresherFleetProps> = {}, id = "Fleet"): { stack: Stack; fleet: TokenRefresherFleet; template: Template } {
  const stack = newStack(newApp(), id);
  const fleet = new TokenRefresherFleet(stack, "Fleet", { fleetName: "plants", ...props });
  return { stack, fleet, template: Template.fromStack(stack) };
}
