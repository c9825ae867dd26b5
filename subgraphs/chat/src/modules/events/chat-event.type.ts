import { JSONObjectScalar } from "@sprintconnect/subgraph-kit";
import { Field, ID, Int, ObjectType } from "type-graphql";
import { ChatMessage } from "../messages/message.type";
import { ChatEventType } from "../shared/enums";

@ObjectType("ChatEvent", {
  description: "One step of a turn, as it happens. Fields beside the envelope depend on `type`.",
})
export class ChatEvent {
  @Field((_type) => ID)
  sessionId!: string;

  @Field((_type) => ID)
  turnId!: string;

  @Field((_type) => Int, {
    description: "Strictly increasing per session; pass the last one seen as `after` to resume",
  })
  seq!: number;

  @Field((_type) => ChatEventType)
  type!: ChatEventType;

  @Field((_type) => Date)
  occurredAt!: Date;

  @Field((_type) => String, { nullable: true, description: "token: the text delta" })
  text!: string | null;

  @Field((_type) => ID, { nullable: true, description: "Tool call and approval events: the stored tool call" })
  toolCallId!: string | null;

  @Field((_type) => ID, { nullable: true })
  serverId!: string | null;

  @Field((_type) => String, { nullable: true })
  toolName!: string | null;

  @Field((_type) => JSONObjectScalar, { nullable: true })
  arguments!: Record<string, unknown> | null;

  @Field((_type) => String, { nullable: true, description: "tool_call_finished: the result, cut as stored" })
  result!: string | null;

  @Field((_type) => Int, { nullable: true })
  durationMs!: number | null;

  @Field((_type) => ID, { nullable: true, description: "message: the stored message's id" })
  messageId!: string | null;

  @Field((_type) => ChatMessage, { nullable: true, description: "message: the stored message" })
  message!: ChatMessage | null;

  @Field((_type) => String, { nullable: true, description: "done: completed, cancelled, failed or interrupted" })
  status!: string | null;

  @Field((_type) => String, { nullable: true, description: "error and tool_call_failed: a code of the error list" })
  code!: string | null;

  @Field((_type) => String, { nullable: true, description: "error and tool_call_failed: what went wrong" })
  errorMessage!: string | null;
}
