import { Field, Float, ID, ObjectType, registerEnumType } from "type-graphql";

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
