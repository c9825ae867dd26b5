import { ArgsType, Field, ID, Int } from "type-graphql";
import { UsageDimension, UsageInterval, UsageTopMetric, UsageTopTarget } from "./summary.type";

@ArgsType()
export class UsageSummaryArgs {
  @Field((_type) => Date, { description: "Start of the range (inclusive)" })
  from!: Date;

  @Field((_type) => Date, { description: "End of the range (exclusive); at most 400 days after `from`" })
  to!: Date;

  @Field((_type) => [UsageDimension], { nullable: true, description: "Dimensions to group by; none: one total" })
  groupBy?: UsageDimension[] | null;

  @Field((_type) => UsageInterval, { nullable: true, description: "Time buckets; default none" })
  interval?: UsageInterval | null;

  @Field((_type) => String, {
    nullable: true,
    description: "IANA time zone of the buckets, e.g. Europe/Paris; default UTC",
  })
  timeZone?: string | null;

  @Field((_type) => ID, { nullable: true })
  serverId?: string | null;

  @Field((_type) => String, { nullable: true, description: "Only servers of this environment" })
  environment?: string | null;

  @Field((_type) => String, { nullable: true, description: "Only events of this kind, e.g. api.request" })
  kind?: string | null;

  @Field((_type) => Int, { nullable: true, description: "1 to 1000; default 100" })
  limit?: number | null;

  @Field((_type) => String, { nullable: true })
  cursor?: string | null;
}

@ArgsType()
export class UsageTopArgs {
  @Field((_type) => Date, { description: "Start of the range (inclusive)" })
  from!: Date;

  @Field((_type) => Date, { description: "End of the range (exclusive); at most 400 days after `from`" })
  to!: Date;

  @Field((_type) => UsageTopTarget, { nullable: true, description: "Default servers" })
  by?: UsageTopTarget | null;

  @Field((_type) => UsageTopMetric, { nullable: true, description: "Default calls" })
  metric?: UsageTopMetric | null;

  @Field((_type) => String, {
    nullable: true,
    description: "Only events of this kind; default chat.tool_call (health checks and discoveries are not calls)",
  })
  kind?: string | null;

  @Field((_type) => String, { nullable: true, description: "Only servers of this environment" })
  environment?: string | null;

  @Field((_type) => Int, { nullable: true, description: "1 to 100; default 10" })
  limit?: number | null;
}
