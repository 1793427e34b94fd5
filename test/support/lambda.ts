// A function in moto's Lambda with a given environment: what `--function` reads. moto's CreateFunction
// takes an empty zip (only the configuration matters) and a role Lambda may assume (its permissions play no part).
import { CreateRoleCommand, IAMClient } from "@aws-sdk/client-iam";
import { CreateFunctionCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { uniqueName } from "./aws.js";

/** Deploys a function named `name` whose environment is `variables`; returns its name. */
export async function deployFunction(variables: Record<string, string>, name = uniqueName("fn")): Promise<string> {
  const role = await new IAMClient({}).send(
    new CreateRoleCommand({
      RoleName: name,
      AssumeRolePolicyDocument: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" }] }),
    }),
  );
  await new LambdaClient({}).send(
    new CreateFunctionCommand({
      FunctionName: name,
      Runtime: "nodejs22.x",
      Role: role.Role!.Arn,
      Handler: "index.handler",
      Code: { ZipFile: emptyZip() },
      Environment: { Variables: variables },
    }),
  );
  return name;
}

/** A zip archive with no entries: its end-of-central-directory record alone. */
function emptyZip(): Uint8Array {
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  return end;
}
