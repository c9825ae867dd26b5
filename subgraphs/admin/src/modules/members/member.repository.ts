import {
  afterCursor,
  type Db,
  type Membership as MembershipRow,
  type Role,
  type User as UserRow,
} from "@sprintconnect/core";

export type MembershipWithUser = MembershipRow & { user: UserRow };

/**
 * The only code that reads or writes Membership and User rows. Memberships are always looked
 * up within one organization. Users are global (one person, several organizations), so the
 * user lookups by email are the one unscoped query, used only to add a member.
 */
export class MemberRepository {
  constructor(private readonly db: Db) {}

  findByUserId(organizationId: string, userId: string, db: Db = this.db): Promise<MembershipWithUser | null> {
    return db.membership.findUnique({
      where: { organizationId_userId: { organizationId, userId } },
      include: { user: true },
    });
  }

  /** `limit + 1` memberships after `cursor`, newest first. */
  list(organizationId: string, limit: number, cursor?: string | null): Promise<MembershipWithUser[]> {
    return this.db.membership.findMany({
      where: { organizationId, AND: [afterCursor(cursor)] },
      include: { user: true },
      orderBy: [{ createdAt: "desc" }, { id: "desc" }],
      take: limit + 1,
    });
  }

  countOwners(organizationId: string, db: Db = this.db): Promise<number> {
    return db.membership.count({ where: { organizationId, role: "owner" } });
  }

  findUserByEmail(db: Db, email: string): Promise<UserRow | null> {
    return db.user.findUnique({ where: { email } });
  }

  createUser(db: Db, data: { email: string; name: string | null }): Promise<UserRow> {
    return db.user.create({ data });
  }

  /** `name`: what this organization calls the member (never copied from the global user). */
  create(
    db: Db,
    data: { organizationId: string; userId: string; role: Role; name: string | null; status?: "invited" | "active" },
  ): Promise<MembershipWithUser> {
    return db.membership.create({ data, include: { user: true } });
  }

  updateRole(db: Db, organizationId: string, userId: string, role: Role): Promise<MembershipWithUser> {
    return db.membership.update({
      where: { organizationId_userId: { organizationId, userId } },
      data: { role },
      include: { user: true },
    });
  }

  async remove(db: Db, organizationId: string, userId: string): Promise<void> {
    await db.membership.delete({ where: { organizationId_userId: { organizationId, userId } } });
  }

  /**
   * Serializes membership changes of one organization for the rest of the transaction, so two
   * concurrent demotions cannot both see a second owner and leave none.
   */
  async lock(db: Db, organizationId: string): Promise<void> {
    await db.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`members:${organizationId}`}, 0))`;
  }
}
