import { Field, Float, ID, Int, ObjectType, registerEnumType } from "type-graphql";

// Lowercase values, the same words in GraphQL and REST (`?groupBy=server&interval=day`).
export enum UsageDimension {
  kind = "kind",
  server = "server",
  /** A tool (or other capability) of a server: groups by server and tool name. */
  capability = "capability",
  user = "user",
  api_key = "api_key",
  model = "model",
}
registerEnumType(UsageDimension, { name: "UsageDimension", description: "What usage is grouped by" });

export enum UsageInterval {
  none = "none",
  hour = "hour",
  day = "day",
  /** ISO weeks, starting on Monday. */
  week = "week",
  month = "month",
}
registerEnumType(UsageInterval, {
  name: "UsageInterval",
  description: "Time buckets of a usage summary, in the request's time zone",
});

@ObjectType("UsageSummaryRow", {
  description: "Usage of one time bucket and one combination of the requested dimensions (others are null)",
})
export class UsageSummaryRow {
  @Field((_type) => Date, { nullable: true, description: "Start of the bucket; null when the interval is none" })
  bucket!: Date | null;

  @Field((_type) => String, { nullable: true })
  kind!: string | null;

  @Field((_type) => ID, { nullable: true })
  serverId!: string | null;

  @Field((_type) => String, { nullable: true, description: "The tool (capability) name" })
  toolName!: string | null;

  @Field((_type) => ID, { nullable: true })
  userId!: string | null;

  @Field((_type) => ID, { nullable: true })
  apiKeyId!: string | null;

  @Field((_type) => String, { nullable: true })
  model!: string | null;

  @Field((_type) => Float, { description: "Events (an exact integer)" })
  events!: number;

  @Field((_type) => Float, { description: "Events that failed (an exact integer)" })
  errors!: number;

  @Field((_type) => Float, { description: "Sum of the events' quantities (an exact integer)" })
  quantity!: number;

  @Field((_type) => Float)
  inputTokens!: number;

  @Field((_type) => Float)
  outputTokens!: number;

  @Field((_type) => Float)
  cachedTokens!: number;

  @Field((_type) => String, { description: "Cost in US dollars as an exact decimal string" })
  costUsd!: string;

  @Field((_type) => Float, { nullable: true, description: "Mean duration of the events that have one (ms)" })
  avgDurationMs!: number | null;
}

@ObjectType("UsageSummary", { description: "A page of a usage summary" })
export class UsageSummary {
  @Field((_type) => [UsageSummaryRow])
  items!: UsageSummaryRow[];

  @Field((_type) => String, { nullable: true, description: "Pass as `cursor` for the next page; null on the last" })
  nextCursor!: string | null;

  @Field((_type) => String, { description: "The IANA time zone the buckets are in" })
  timeZone!: string;

  @Field((_type) => Date, {
    nullable: true,
    description: "Events before this instant were read from rollups, later ones from raw events (both exact)",
  })
  rolledUntil!: Date | null;
}

export enum UsageTopTarget {
  servers = "servers",
  /** Tools of servers. */
  capabilities = "capabilities",
}
registerEnumType(UsageTopTarget, { name: "UsageTopTarget", description: "What `usageTop` ranks" });

export enum UsageTopMetric {
  calls = "calls",
  errors = "errors",
  p95_latency = "p95_latency",
  tokens = "tokens",
  cost = "cost",
}
registerEnumType(UsageTopMetric, { name: "UsageTopMetric", description: "What `usageTop` ranks by (highest first)" });

@ObjectType("UsageTopEntry", { description: "One server (or tool of a server) and its usage over the range" })
export class UsageTopEntry {
  @Field((_type) => Int, { description: "1 for the highest" })
  rank!: number;

  @Field((_type) => ID)
  serverId!: string;

  @Field((_type) => String, { nullable: true, description: "The tool, when ranking capabilities" })
  toolName!: string | null;

  @Field((_type) => Float, { description: "Events (an exact integer)" })
  calls!: number;

  @Field((_type) => Float)
  errors!: number;

  @Field((_type) => Float, { description: "Input plus output tokens" })
  tokens!: number;

  @Field((_type) => String, { description: "Cost in US dollars as an exact decimal string" })
  costUsd!: string;

  @Field((_type) => Float, {
    nullable: true,
    description:
      "95th percentile of the durations: the upper bound of the latency bucket that holds it (5, 10, 25, 50, 100, 250, 500 ms, 1, 2.5, 5, 10, 30 s); null without durations",
  })
  p95LatencyMs!: number | null;

  @Field((_type) => Boolean, { description: "The 95th percentile lies above the last bucket bound (30 s)" })
  p95AboveLastBucket!: boolean;
}

@ObjectType("UsageTop", { description: "Servers or tools ranked by a usage metric" })
export class UsageTop {
  @Field((_type) => [UsageTopEntry])
  items!: UsageTopEntry[];
}
