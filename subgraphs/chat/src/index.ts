export { ChatEventHub } from "./modules/events/chat-event.hub";
export { buildChatSchema, type ChatSchemaDeps } from "./schema";
