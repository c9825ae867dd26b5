export { buildChatSchema } from "./schema";
