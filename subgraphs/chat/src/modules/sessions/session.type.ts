import { Directive, Field, ID, ObjectType } from "type-graphql";
import { McpServerRef } from "../servers/server.type";
import { ChatSessionStatus } from "../shared/enums";

@Directive('@key(fields: "id")')
@ObjectType("ChatSession", { description: "A chat in which an agent tests one or more MCP servers" })
export class ChatSession {
  @Field((_type) => ID)
  id!: string;

  @Field((_type) => String)
  title!: string;

  @Field((_type) => ChatSessionStatus)
  status!: ChatSessionStatus;

  @Field((_type) => [ID], { description: "The servers selected when the session was created" })
  serverIds!: string[];

  @Field((_type) => [McpServerRef], {
    description: "The selected servers that are still registered; deregistered ones are left out",
  })
  servers!: McpServerRef[];

  @Field((_type) => String, { nullable: true, description: "Model of this session's turns; null: LLM_MODEL" })
  model!: string | null;

  @Field((_type) => ID, { nullable: true, description: "The turn queued or running now, if any" })
  activeTurnId!: string | null;

  @Field((_type) => Date)
  createdAt!: Date;

  @Field((_type) => Date)
  updatedAt!: Date;
}

@ObjectType("ChatSessionConnection", { description: "A page of chat sessions" })
export class ChatSessionConnection {
  @Field((_type) => [ChatSession])
  items!: ChatSession[];

  @Field((_type) => String, { nullable: true, description: "Pass as `cursor` for the next page; null on the last" })
  nextCursor!: string | null;
}
