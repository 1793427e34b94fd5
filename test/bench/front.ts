// The benchmarks' AWS environment: the variables the fixtures' own clients read (they create secrets
// and tables directly in the bench's moto), restored afterwards; and the AWS front (docs/development.md,
// "Testing") before that moto.
import { startAwsFront, type AwsFront } from "../support/aws-front.js";

export async function withBenchEnvironment<T>(motoEndpoint: string, use: () => Promise<T>): Promise<T> {
  const environment = { AWS_ENDPOINT_URL: motoEndpoint, AWS_REGION: "us-east-1", AWS_ACCESS_KEY_ID: "bench", AWS_SECRET_ACCESS_KEY: "bench" };
  const saved = Object.fromEntries(Object.keys(environment).map((name) => [name, process.env[name]]));
  Object.assign(process.env, environment);
  try {
    return await use();
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

export async function withFront<T>(motoEndpoint: string, use: (front: AwsFront) => Promise<T>): Promise<T> {
  return withBenchEnvironment(motoEndpoint, async () => {
    const front = await startAwsFront({ upstream: motoEndpoint });
    try {
      return await use(front);
    } finally {
      await front.close();
    }
  });
}
