// The price table of docs/cost.md, as data: the page's table is generated from it (`npm run docs`) and
// the cost model (./model.ts, `npm run bench`) multiplies by it, so the two cannot disagree.

/** Where and when the prices hold: us-east-1 list prices, no free tier, no discounts. */
export const PRICE_REGION = "us-east-1";
/** When the sources below were read. */
export const PRICES_READ_ON = "2026-12-03";

export interface Price {
  readonly service: string;
  readonly item: string;
  /** US dollars per `per` units. */
  readonly usd: number;
  readonly per: number;
  readonly unit: string;
  /** Where the price was read; the official page first where it carries the figure. */
  readonly sources: readonly string[];
  /** The date of the stored copy that was read, when it shows one. */
  readonly sourceDate?: string;
  /** How it is billed, or what could not be confirmed (UNVERIFIED). */
  readonly note?: string;
}

const LAMBDA = ["https://aws.amazon.com/lambda/pricing/", "https://cloudchipr.com/blog/aws-lambda-pricing"];
const CLOUDWATCH = [
  "https://aws.amazon.com/cloudwatch/pricing/",
  "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_billing.html",
  "https://raw.githubusercontent.com/api-evangelist/cloudwatch/refs/heads/main/plans/cloudwatch-plans-pricing.yml",
];
const SECRETS_MANAGER = [
  "https://aws.amazon.com/secrets-manager/pricing/",
  "https://raw.githubusercontent.com/api-evangelist/amazon-secrets-manager/refs/heads/main/plans/amazon-secrets-manager-plans-pricing.yml",
];

export const PRICES = {
  lambdaRequests: {
    service: "AWS Lambda",
    item: "requests (arm64 and x86)",
    usd: 0.2,
    per: 1_000_000,
    unit: "requests",
    sources: LAMBDA,
    sourceDate: "2024",
  },
  lambdaArmDuration: {
    service: "AWS Lambda",
    item: "duration, arm64 (first 7.5 billion GB-s a month)",
    usd: 0.0000133334,
    per: 1,
    unit: "GB-s",
    sources: LAMBDA,
    sourceDate: "2024",
    note: "billed per ms of each invocation × its memory",
  },
  sqsRequests: {
    service: "Amazon SQS",
    item: "standard queue requests",
    usd: 0.4,
    per: 1_000_000,
    unit: "requests",
    sources: ["https://aws.amazon.com/sqs/pricing/", "https://cloudburn.io/blog/amazon-sqs-pricing", "https://www.factualminds.com/blog/amazon-sqs-pricing-64kb-rule-fifo-vs-standard/"],
    sourceDate: "2026-06-13",
    note: "each 64 KB of a payload is one request; empty receives count",
  },
  dynamodbWrites: {
    service: "Amazon DynamoDB",
    item: "on-demand write request units",
    usd: 0.625,
    per: 1_000_000,
    unit: "WRU",
    sources: ["https://aws.amazon.com/dynamodb/pricing/on-demand/", "https://airbyte.com/data-engineering-resources/dynamodb-pricing"],
    sourceDate: "2025-07",
    note: "after the 2024-11-01 price cut; 1 WRU per 1 KB written, and again on each global secondary index the write changes",
  },
  dynamodbReads: {
    service: "Amazon DynamoDB",
    item: "on-demand read request units",
    usd: 0.125,
    per: 1_000_000,
    unit: "RRU",
    sources: ["https://aws.amazon.com/dynamodb/pricing/on-demand/", "https://airbyte.com/data-engineering-resources/dynamodb-pricing"],
    sourceDate: "2025-07",
    note: "1 RRU per 4 KB read strongly consistent, half for eventually consistent",
  },
  secrets: {
    service: "AWS Secrets Manager",
    item: "secrets",
    usd: 0.4,
    per: 1,
    unit: "secret-months",
    sources: SECRETS_MANAGER,
    sourceDate: "2026-09-20",
    note: "prorated for secrets stored less than a month",
  },
  secretsApiCalls: {
    service: "AWS Secrets Manager",
    item: "API calls",
    usd: 0.05,
    per: 10_000,
    unit: "calls",
    sources: SECRETS_MANAGER,
    sourceDate: "2026-09-20",
  },
  kmsRequests: {
    service: "AWS KMS",
    item: "requests, also to the AWS managed key aws/secretsmanager",
    usd: 0.03,
    per: 10_000,
    unit: "requests",
    sources: ["https://aws.amazon.com/kms/pricing/", "https://aws.amazon.com/fr/kms/pricing/", "https://docs.aws.amazon.com/secretsmanager/latest/userguide/security-encryption.html"],
    note:
      'the AWS managed key has no monthly fee, but "you will be charged on any API request made to AWS-managed keys"; Secrets Manager calls GenerateDataKey for each new secret value and Decrypt to read one',
  },
  metrics: {
    service: "Amazon CloudWatch",
    item: "custom metrics, EMF included (first 10,000)",
    usd: 0.3,
    per: 1,
    unit: "metric-months",
    sources: CLOUDWATCH,
    sourceDate: "2026-05-05",
    note: "prorated by the hour, metered only while the metric is sent: one metric sent for one hour costs 1/730 of this",
  },
  alarmMetrics: {
    service: "Amazon CloudWatch",
    item: "standard-resolution alarms, per metric the alarm reads",
    usd: 0.1,
    per: 1,
    unit: "alarm-metric-months",
    sources: CLOUDWATCH,
    sourceDate: "2026-05-05",
    note: "prorated by the hour",
  },
  metricsInsightsAlarmMetrics: {
    service: "Amazon CloudWatch",
    item: "Metrics Insights query alarms, per metric the query analyzes",
    usd: 0.1,
    per: 1,
    unit: "analyzed-metric-months",
    sources: CLOUDWATCH,
    note: "billed per metric analyzed per hour (CloudWatch user guide); the rate is in a tab the stored pricing page lacks: UNVERIFIED, budgeted at the standard alarm-metric rate",
  },
  logIngestion: {
    service: "Amazon CloudWatch Logs",
    item: "ingestion, standard log class",
    usd: 0.5,
    per: 1_000_000_000,
    unit: "bytes",
    sources: [...CLOUDWATCH, "https://www.factualminds.com/blog/amazon-cloudwatch-pricing-metrics-logs-alarms-dashboards/"],
    sourceDate: "2026-06-13",
    note: "$0.50 per GB",
  },
  logStorage: {
    service: "Amazon CloudWatch Logs",
    item: "storage",
    usd: 0.03,
    per: 1_000_000_000,
    unit: "byte-months",
    sources: CLOUDWATCH,
    sourceDate: "2026-05-05",
    note: "$0.03 per GB-month, of the compressed size (counted here uncompressed: an upper bound)",
  },
  customEvents: {
    service: "Amazon EventBridge",
    item: "custom events published (PutEvents entries)",
    usd: 1,
    per: 1_000_000,
    unit: "events",
    sources: ["https://aws.amazon.com/eventbridge/pricing/", "https://cloudburn.io/blog/amazon-eventbridge-pricing"],
    sourceDate: "2026-03-13",
    note: "each 64 KB of an entry is one event; scheduled rules and events from AWS services are free",
  },
  snsPublishes: {
    service: "Amazon SNS",
    item: "publishes",
    usd: 0.5,
    per: 1_000_000,
    unit: "publishes",
    sources: ["https://aws.amazon.com/sns/pricing/", "https://www.factualminds.com/blog/amazon-sns-pricing-publishes-fanout-protocols/"],
    sourceDate: "2026-06-13",
    note: "e-mail deliveries $2 per 100,000 on top; only alarm state changes publish",
  },
  stsRequests: {
    service: "AWS STS",
    item: "AssumeRole (with session tags)",
    usd: 0,
    per: 1,
    unit: "requests",
    sources: ["https://aws.amazon.com/iam/faqs/"],
    note: 'IAM, temporary credentials included, "is offered at no additional charge"; no STS price list found',
  },
} as const satisfies Record<string, Price>;

export type PriceId = keyof typeof PRICES;
