import { registerEnumType } from "type-graphql";

// Enum values are the same lowercase words in GraphQL, REST and the database.

export enum ChatSessionStatus {
  active = "active",
  archived = "archived",
}

registerEnumType(ChatSessionStatus, { name: "ChatSessionStatus", description: "Whether a chat session is in use" });
