// CDK app entry (cdk.json: `npx tsx infra/app.ts`). Configuration: the "token-refresher" context of
// cdk.json, or `-c configFile=path/to/config.json`; see infra/config.ts and docs/construct.md, "The bundled CDK app".
import { App, Aspects } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { AppConfigError, loadAppConfig, type AppConfig } from "./config.js";
import { TokenRefresherStack } from "./stack.js";

const app = new App();
let config: AppConfig;
try {
  config = loadAppConfig(app.node);
} catch (error) {
  // A configuration mistake is the user's, not the app's: the list of bad fields, no stack trace.
  if (!(error instanceof AppConfigError)) throw error;
  console.error(error.message);
  process.exit(1);
}
new TokenRefresherStack(app, config.stackName, {
  config,
  description: "token-refresher: scheduled refresh of expiring API access tokens kept in Secrets Manager",
  // Environment-agnostic unless configured or known to the CLI: `cdk synth` works with no AWS credentials.
  env: {
    account: config.account ?? process.env.CDK_DEFAULT_ACCOUNT,
    region: config.region ?? process.env.CDK_DEFAULT_REGION,
  },
  tags: { project: "token-refresher" },
});
// cdk-nag AwsSolutions: an unsuppressed finding fails `cdk synth`; suppressions carry their reason in code.
Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
app.synth();
