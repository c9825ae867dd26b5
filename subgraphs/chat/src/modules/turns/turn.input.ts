import { Field, InputType } from "type-graphql";

@InputType("SendChatMessageInput")
export class SendChatMessageInput {
  @Field((_type) => String, { description: "The message; at most CHAT_MAX_MESSAGE_CHARS characters" })
  content!: string;
}

@InputType("ResolveToolApprovalInput")
export class ResolveToolApprovalInput {
  @Field((_type) => Boolean, { description: "true runs the tool call; false skips it (the agent is told)" })
  approve!: boolean;
}
