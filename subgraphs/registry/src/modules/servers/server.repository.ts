import { type Db, type McpCredential, type McpServer as McpServerRecord, type Prisma } from "@sprintconnect/core";

/** A server row with its credential metadata (never the secret). */
export type McpServerRow = McpServerRecord & { credentials: McpCredential[] };
const withCredentials = { credentials: true } as const;

/**
 * Writes of McpServer rows, and the reads mutations make inside their transactions, with Prisma;
 * every query is scoped by organization. What the API reads goes through `ServerQueries`.
 */
export class ServerRepository {
  constructor(private readonly db: Db) {}

  /** A live (not deregistered) server of the organization, or null. */
  findById(organizationId: string, id: string, db: Db = this.db): Promise<McpServerRow | null> {
    return db.mcpServer.findFirst({ where: { id, organizationId, deletedAt: null }, include: withCredentials });
  }

  findByName(organizationId: string, name: string, db: Db = this.db): Promise<McpServerRecord | null> {
    return db.mcpServer.findFirst({
      where: { organizationId, deletedAt: null, name: { equals: name, mode: "insensitive" } },
    });
  }

  create(db: Db, data: Prisma.McpServerUncheckedCreateInput): Promise<McpServerRow> {
    return db.mcpServer.create({ data, include: withCredentials });
  }

  update(db: Db, id: string, data: Prisma.McpServerUncheckedUpdateInput): Promise<McpServerRow> {
    return db.mcpServer.update({ where: { id }, data, include: withCredentials });
  }

  /** Replaces the server's credential metadata (the secret itself is in the secret store). */
  async setCredential(
    db: Db,
    server: { id: string; organizationId: string },
    credential: { kind: "bearer" | "headers"; secretRef: string; origin: string; headerNames: string[] } | null,
  ): Promise<void> {
    await db.mcpCredential.deleteMany({ where: { serverId: server.id } });
    if (credential) {
      await db.mcpCredential.create({
        data: { organizationId: server.organizationId, serverId: server.id, ...credential, rotatedAt: new Date() },
      });
    }
  }

  /** Live (not deregistered) servers of the organization. */
  countLive(db: Db, organizationId: string): Promise<number> {
    return db.mcpServer.count({ where: { organizationId, deletedAt: null } });
  }

  /** Serializes writers of one organization's server names for the rest of the transaction. */
  async lockNames(db: Db, organizationId: string): Promise<void> {
    await db.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`server-names:${organizationId}`}, 0))`;
  }
}
