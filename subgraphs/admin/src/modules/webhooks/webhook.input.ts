import { Field, InputType } from "type-graphql";

@InputType("CreateWebhookInput")
export class CreateWebhookInput {
  @Field((_type) => String, { description: "http or https; refused if the egress guard refuses it" })
  url!: string;

  @Field((_type) => [String], { description: "Event types to deliver (at least one; see the README for the list)" })
  eventTypes!: string[];

  @Field((_type) => String, { nullable: true })
  description?: string | null;
}

@InputType("UpdateWebhookInput")
export class UpdateWebhookInput {
  @Field((_type) => String, { nullable: true })
  url?: string | null;

  @Field((_type) => [String], { nullable: true })
  eventTypes?: string[] | null;

  @Field((_type) => String, { nullable: true })
  description?: string | null;

  @Field((_type) => Boolean, {
    nullable: true,
    description: "false pauses deliveries (they wait); true resumes them and clears a disable after failures",
  })
  enabled?: boolean | null;
}
