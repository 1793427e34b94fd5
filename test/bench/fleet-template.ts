// npm run bench, stack size: what one CloudFormation stack holds for N credentials, in fleet mode
// (credentials are registry items written by `fleet add`, never an input of the synth) and with one
// dedicated TokenRefresher per credential (a score of resources each; CloudFormation takes 500 per stack).
import { Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { credentialSpec } from "../../lambda/config/index.js";
import { DUE_SHARDS } from "../../lambda/settings.js";
import { TokenRefresher, TokenRefresherFleet } from "../../infra/token-refresher/index.js";
import { ENV, newApp } from "../infra/support.js";

export interface StackSize {
  readonly credentials: number;
  /** CloudFormation resources of the synthesized stack. */
  readonly resources: number;
  /** The template, as JSON. */
  readonly templateBytes: number;
  /** The credentials as data: their registry items, as JSON (0 for dedicated refreshers, which hold them in the template). */
  readonly registryBytes: number;
}

/** Registry items of `count` credentials (docs/fleet.md, "Registry item"), each spec as given, checked by the settings table's rules. */
export function registryItems(fleetName: string, count: number): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, i) => {
    const name = `plant-${String(i).padStart(4, "0")}`;
    const spec = {
      name,
      endpointUrl: `https://iot-${i % 7}.example.com:8743`,
      clientSecretId: `token-refresher/${fleetName}/${name}/client`,
      tokenSecretId: `token-refresher/${fleetName}/${name}/token`,
    };
    // Stored as given (no defaults), as long as the rules accept it.
    credentialSpec(spec);
    return { credential: name, spec, status: "active", dueShard: `due#${i % DUE_SHARDS}`, nextDueAt: 0 };
  });
}

function size(stack: Stack, credentials: number, registryBytes: number): StackSize {
  const template = Template.fromStack(stack).toJSON() as { Resources: Record<string, unknown> };
  return { credentials, resources: Object.keys(template.Resources).length, templateBytes: JSON.stringify(template).length, registryBytes };
}

/** One fleet serving `credentials` credentials: the stack is synthesized without them, and they are counted as the registry items they become. */
export function fleetStackSize(credentials: number): StackSize {
  const stack = new Stack(newApp(), "FleetSize", { env: ENV });
  new TokenRefresherFleet(stack, "Fleet", { fleetName: "plants" });
  return size(stack, credentials, JSON.stringify(registryItems("plants", credentials)).length);
}

/** One dedicated TokenRefresher per credential, in one stack. */
export function dedicatedStackSize(credentials: number): StackSize {
  const stack = new Stack(newApp(), "DedicatedSize", { env: ENV });
  for (let i = 0; i < credentials; i++) new TokenRefresher(stack, `Plant${i}`, { credentialName: `plant-${i}`, endpointUrl: "https://iot.example.com:8743" });
  return size(stack, credentials, 0);
}

export function benchFleetTemplate(): void {
  console.log("\n== stack size per number of credentials (CloudFormation: at most 500 resources per stack)");
  const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
  const line = (label: string, s: StackSize) =>
    console.log(`${label.padEnd(26)} ${String(s.resources).padStart(5)} resources  template ${kib(s.templateBytes).padStart(9)}  registry items ${kib(s.registryBytes)}`);
  for (const n of [1, 1_000]) line(`fleet, ${n.toLocaleString("en")} credential${n === 1 ? "" : "s"}`, fleetStackSize(n));
  const [one, twenty] = [dedicatedStackSize(1), dedicatedStackSize(20)];
  line("dedicated, 1 credential", one);
  line("dedicated, 20 credentials", twenty);
  const perCredential = (twenty.resources - one.resources) / 19;
  console.log(`dedicated, 1,000 credentials ${String(one.resources + perCredential * 999).padStart(5)} resources (${perCredential} per credential, extrapolated: does not fit one stack)`);
}
