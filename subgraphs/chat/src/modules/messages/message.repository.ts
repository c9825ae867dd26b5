import { badRequest, type Db, type Prisma } from "@sprintconnect/core";
import { z } from "zod";

const include = {
  toolCalls: { orderBy: [{ position: "asc" }, { createdAt: "asc" }] },
} satisfies Prisma.ChatMessageInclude;
export type ChatMessageRow = Prisma.ChatMessageGetPayload<{ include: typeof include }>;

const cursorSchema = z.object({ p: z.number().int().min(0) }).strict();

/** Opaque cursor of the message history (after a message's position). */
export function encodeMessageCursor(position: number): string {
  return Buffer.from(JSON.stringify({ p: position })).toString("base64url");
}

function decodeMessageCursor(cursor: string): number {
  try {
    return cursorSchema.parse(JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"))).p;
  } catch {
    throw badRequest("Invalid cursor", { field: "cursor" });
  }
}

/** The only code that reads chat messages and tool calls in the chat subgraph; scoped by organization. */
export class MessageRepository {
  constructor(private readonly db: Db) {}

  /** `limit + 1` messages of a session after `cursor`, oldest first, with their tool calls. */
  page(organizationId: string, sessionId: string, limit: number, cursor?: string | null): Promise<ChatMessageRow[]> {
    const after = cursor ? decodeMessageCursor(cursor) : null;
    return this.db.chatMessage.findMany({
      where: { organizationId, sessionId, ...(after === null ? {} : { position: { gt: after } }) },
      orderBy: { position: "asc" },
      take: limit + 1,
      include,
    });
  }

  find(organizationId: string, id: string): Promise<ChatMessageRow | null> {
    return this.db.chatMessage.findFirst({ where: { organizationId, id }, include });
  }

  findToolCall(organizationId: string, sessionId: string, id: string, db: Db = this.db) {
    return db.chatToolCall.findFirst({ where: { organizationId, sessionId, id } });
  }
}
