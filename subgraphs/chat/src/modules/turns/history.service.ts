import { type Principal, pageSize } from "@sprintconnect/core";
import { toChatMessage } from "../messages/message.present";
import { encodeMessageCursor, type MessageRepository } from "../messages/message.repository";
import type { ChatMessage, ChatMessageConnection } from "../messages/message.type";

/** Reads a session's history. Callers have checked the session is the caller's. */
export class HistoryService {
  constructor(private readonly messages: MessageRepository) {}

  async page(principal: Principal, sessionId: string, limit?: number | null, cursor?: string | null) {
    const take = pageSize(limit, 500, 100);
    const rows = await this.messages.page(principal.organizationId, sessionId, take, cursor);
    const items = rows.slice(0, take);
    const last = items[items.length - 1];
    return {
      items: items.map(toChatMessage),
      nextCursor: rows.length > take && last ? encodeMessageCursor(last.position) : null,
    } satisfies ChatMessageConnection;
  }

  async message(principal: Principal, id: string): Promise<ChatMessage | null> {
    const row = await this.messages.find(principal.organizationId, id);
    return row ? toChatMessage(row) : null;
  }
}
