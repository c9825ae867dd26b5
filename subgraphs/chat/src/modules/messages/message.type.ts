import { JSONObjectScalar } from "@sprintconnect/subgraph-kit";
import { Field, ID, Int, ObjectType } from "type-graphql";
import { ChatMessageRole, ChatMessageStatus, ChatToolCallStatus } from "../shared/enums";

@ObjectType("ChatToolCall", { description: "One tool call the agent made (or asked to make)" })
export class ChatToolCall {
  @Field((_type) => ID)
  id!: string;

  @Field((_type) => ID)
  turnId!: string;

  @Field((_type) => ID, { description: "The assistant message that asked for it" })
  messageId!: string;

  @Field((_type) => ID, { nullable: true })
  serverId!: string | null;

  @Field((_type) => String)
  toolName!: string;

  @Field((_type) => JSONObjectScalar)
  arguments!: Record<string, unknown>;

  @Field((_type) => String, { nullable: true, description: "The result as text, cut to CHAT_TOOL_RESULT_MAX_CHARS" })
  result!: string | null;

  @Field((_type) => Boolean)
  resultTruncated!: boolean;

  @Field((_type) => ChatToolCallStatus)
  status!: ChatToolCallStatus;

  @Field((_type) => Int, { nullable: true })
  durationMs!: number | null;

  @Field((_type) => String, { nullable: true })
  error!: string | null;

  @Field((_type) => Date)
  createdAt!: Date;

  @Field((_type) => Date, { nullable: true })
  finishedAt!: Date | null;
}

@ObjectType("ChatMessage", { description: "A stored message of a chat: the user's, the agent's, or a tool result" })
export class ChatMessage {
  @Field((_type) => ID)
  id!: string;

  @Field((_type) => ID, { nullable: true })
  turnId!: string | null;

  @Field((_type) => ChatMessageRole)
  role!: ChatMessageRole;

  @Field((_type) => String)
  content!: string;

  @Field((_type) => ChatMessageStatus)
  status!: ChatMessageStatus;

  @Field((_type) => String, { nullable: true, description: "Assistant messages: the model that wrote it" })
  model!: string | null;

  @Field((_type) => Int)
  inputTokens!: number;

  @Field((_type) => Int)
  outputTokens!: number;

  @Field((_type) => Int, { description: "Input tokens served from the provider's cache" })
  cachedTokens!: number;

  @Field((_type) => String, { description: "Cost in USD (decimal string)" })
  costUsd!: string;

  @Field((_type) => [ChatToolCall], { description: "Assistant messages: the tool calls it asked for" })
  toolCalls!: ChatToolCall[];

  @Field((_type) => ID, { nullable: true, description: "Tool messages: the call this result answers" })
  toolCallId!: string | null;

  @Field((_type) => Date)
  createdAt!: Date;
}

@ObjectType("ChatMessageConnection", { description: "A page of a session's messages, oldest first" })
export class ChatMessageConnection {
  @Field((_type) => [ChatMessage])
  items!: ChatMessage[];

  @Field((_type) => String, { nullable: true })
  nextCursor!: string | null;
}
