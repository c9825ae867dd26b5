import { ArgsType, Field, ID, Int } from "type-graphql";

@ArgsType()
export class UsageEventsArgs {
  @Field((_type) => Date, { nullable: true, description: "Events at or after this instant" })
  from?: Date | null;

  @Field((_type) => Date, { nullable: true, description: "Events before this instant" })
  to?: Date | null;

  @Field((_type) => String, { nullable: true })
  kind?: string | null;

  @Field((_type) => ID, { nullable: true })
  serverId?: string | null;

  @Field((_type) => Int, { nullable: true, description: "1 to 100; default 20" })
  limit?: number | null;

  @Field((_type) => String, { nullable: true })
  cursor?: string | null;
}
