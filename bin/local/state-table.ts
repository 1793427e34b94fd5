import { CreateTableCommand, ResourceInUseException, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { STATE_KEY } from "../../lambda/settings.js";

/**
 * Creates a state table shaped as the stack creates it (partition key only, on demand), for
 * `npm start` and the tests, which run against moto; a table that exists already is kept.
 */
export async function createStateTable(name: string, dynamodb: DynamoDBClient): Promise<string> {
  try {
    await dynamodb.send(
      new CreateTableCommand({
        TableName: name,
        AttributeDefinitions: [{ AttributeName: STATE_KEY, AttributeType: "S" }],
        KeySchema: [{ AttributeName: STATE_KEY, KeyType: "HASH" }],
        BillingMode: "PAY_PER_REQUEST",
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  return name;
}
