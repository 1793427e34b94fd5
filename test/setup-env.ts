import { inject } from "vitest";
import { installLeakGuard } from "./support/leak-guard.js";

// The real AWS SDK v3 clients reach moto, through the AWS front that adds real Secrets Manager's limits,
// via their standard endpoint setting; no real account is used.
process.env.AWS_ENDPOINT_URL = inject("frontEndpoint");
process.env.AWS_REGION = "us-east-1";
process.env.AWS_ACCESS_KEY_ID = "testing";
process.env.AWS_SECRET_ACCESS_KEY = "testing";
delete process.env.AWS_PROFILE;
delete process.env.AWS_SESSION_TOKEN;

installLeakGuard();
