import { JSONObjectScalar } from "@sprintconnect/subgraph-kit";
import { Directive, Field, ID, Int, ObjectType } from "type-graphql";

@Directive('@key(fields: "id")')
@ObjectType("UsageEvent", { description: "One metered use: a tool call, an LLM completion, a chat message" })
export class UsageEvent {
  @Field((_type) => ID)
  id!: string;

  @Field((_type) => String, { description: "What was used, e.g. a tool call or an LLM completion" })
  kind!: string;

  @Field((_type) => ID, { nullable: true })
  userId!: string | null;

  @Field((_type) => ID, { nullable: true })
  apiKeyId!: string | null;

  @Field((_type) => ID, { nullable: true })
  serverId!: string | null;

  @Field((_type) => ID, { nullable: true })
  capabilityId!: string | null;

  @Field((_type) => ID, { nullable: true, description: "The chat session, when the use happened in one" })
  sessionId!: string | null;

  @Field((_type) => Int)
  quantity!: number;

  @Field((_type) => Int)
  inputTokens!: number;

  @Field((_type) => Int)
  outputTokens!: number;

  @Field((_type) => String, { description: 'Cost in US dollars as an exact decimal string, e.g. "0.00125"' })
  costUsd!: string;

  @Field((_type) => Int, { nullable: true })
  durationMs!: number | null;

  @Field((_type) => Boolean)
  success!: boolean;

  @Field((_type) => JSONObjectScalar)
  metadata!: Record<string, unknown>;

  @Field((_type) => Date)
  occurredAt!: Date;
}

@ObjectType("UsageEventConnection", { description: "A page of usage events" })
export class UsageEventConnection {
  @Field((_type) => [UsageEvent])
  items!: UsageEvent[];

  @Field((_type) => String, { nullable: true, description: "Pass as `cursor` for the next page; null on the last" })
  nextCursor!: string | null;
}
