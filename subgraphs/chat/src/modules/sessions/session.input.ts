import { Field, ID, InputType } from "type-graphql";

@InputType("CreateChatSessionInput")
export class CreateChatSessionInput {
  @Field((_type) => String, { nullable: true, description: 'At most 200 characters; default "Chat <ISO date>"' })
  title?: string | null;

  @Field((_type) => [ID], { description: "1 to 20 distinct live servers of the caller's organization" })
  serverIds!: string[];

  @Field((_type) => String, { nullable: true, description: "Model for this session's turns instead of LLM_MODEL" })
  model?: string | null;
}
