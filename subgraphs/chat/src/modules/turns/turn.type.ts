import { Field, ID, ObjectType } from "type-graphql";
import { ChatMessage } from "../messages/message.type";
import { ChatTurnStatus } from "../shared/enums";

@ObjectType("ChatTurn", { description: "One user message and the agent's work on it" })
export class ChatTurn {
  @Field((_type) => ID)
  id!: string;

  @Field((_type) => ID)
  sessionId!: string;

  @Field((_type) => ChatTurnStatus)
  status!: ChatTurnStatus;

  @Field((_type) => String, { nullable: true })
  model!: string | null;

  @Field((_type) => String, { nullable: true, description: "Why it failed or was interrupted" })
  error!: string | null;

  @Field((_type) => ChatMessage, { nullable: true, description: "The user message that started it" })
  userMessage!: ChatMessage | null;

  @Field((_type) => Date)
  createdAt!: Date;

  @Field((_type) => Date, { nullable: true })
  finishedAt!: Date | null;
}
