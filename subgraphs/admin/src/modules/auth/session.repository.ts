import type { Db, User as UserRow } from "@sprintconnect/core";

export interface ActiveMembership {
  organizationId: string;
  organizationName: string;
  role: string;
}

export interface StoredRefreshToken {
  id: string;
  expiresAt: Date;
  rotatedAt: Date | null;
  family: {
    id: string;
    userId: string;
    organizationId: string;
    expiresAt: Date;
    revokedAt: Date | null;
  };
}

/**
 * The only code that reads or writes login state: users by their OIDC identity, invitations,
 * and refresh token families. Users are global (one person, several organizations); every
 * membership read here is the person's own. Each call runs on the client or transaction given.
 */
export class SessionRepository {
  findUserByIdentity(db: Db, issuer: string, subject: string): Promise<UserRow | null> {
    return db.user.findUnique({ where: { oidcIssuer_oidcSubject: { oidcIssuer: issuer, oidcSubject: subject } } });
  }

  findUserByEmail(db: Db, email: string): Promise<UserRow | null> {
    return db.user.findUnique({ where: { email } });
  }

  createUser(db: Db, data: { email: string; name: string | null; issuer: string; subject: string }): Promise<UserRow> {
    return db.user.create({
      data: {
        email: data.email,
        name: data.name,
        oidcIssuer: data.issuer,
        oidcSubject: data.subject,
        lastLoginAt: new Date(),
      },
    });
  }

  /** Binds an identity to a user that has none yet; false when another login bound it first. */
  async bindIdentity(db: Db, userId: string, issuer: string, subject: string): Promise<boolean> {
    const { count } = await db.user.updateMany({
      where: { id: userId, oidcSubject: null },
      data: { oidcIssuer: issuer, oidcSubject: subject, lastLoginAt: new Date() },
    });
    return count === 1;
  }

  async touchLogin(db: Db, userId: string): Promise<void> {
    await db.user.update({ where: { id: userId }, data: { lastLoginAt: new Date() } });
  }

  /** Turns the user's invitations into memberships; returns the organizations joined. */
  async acceptInvitations(db: Db, userId: string): Promise<string[]> {
    const invited = await db.membership.findMany({
      where: { userId, status: "invited" },
      select: { organizationId: true },
    });
    if (invited.length === 0) return [];
    await db.membership.updateMany({ where: { userId, status: "invited" }, data: { status: "active" } });
    return invited.map((m) => m.organizationId);
  }

  async activeMemberships(db: Db, userId: string): Promise<ActiveMembership[]> {
    const rows = await db.membership.findMany({
      where: { userId, status: "active" },
      select: { organizationId: true, role: true, organization: { select: { name: true } } },
      orderBy: { createdAt: "asc" },
    });
    return rows.map((r) => ({ organizationId: r.organizationId, organizationName: r.organization.name, role: r.role }));
  }

  async isActiveMember(db: Db, organizationId: string, userId: string): Promise<boolean> {
    const row = await db.membership.findUnique({
      where: { organizationId_userId: { organizationId, userId } },
      select: { status: true },
    });
    return row?.status === "active";
  }

  async createFamily(
    db: Db,
    data: { userId: string; organizationId: string; expiresAt: Date; tokenHash: string },
  ): Promise<string> {
    const family = await db.refreshTokenFamily.create({
      data: {
        userId: data.userId,
        organizationId: data.organizationId,
        expiresAt: data.expiresAt,
        tokens: { create: { hash: data.tokenHash, expiresAt: data.expiresAt } },
      },
      select: { id: true },
    });
    return family.id;
  }

  findToken(db: Db, hash: string): Promise<StoredRefreshToken | null> {
    return db.refreshToken.findUnique({
      where: { hash },
      select: {
        id: true,
        expiresAt: true,
        rotatedAt: true,
        family: { select: { id: true, userId: true, organizationId: true, expiresAt: true, revokedAt: true } },
      },
    });
  }

  /** Marks the token used; false when it already was (a concurrent refresh won, or a reuse). */
  async markRotated(db: Db, tokenId: string): Promise<boolean> {
    const { count } = await db.refreshToken.updateMany({
      where: { id: tokenId, rotatedAt: null },
      data: { rotatedAt: new Date() },
    });
    return count === 1;
  }

  async addToken(db: Db, familyId: string, hash: string, expiresAt: Date, organizationId: string): Promise<void> {
    await db.refreshToken.create({ data: { familyId, hash, expiresAt } });
    await db.refreshTokenFamily.update({ where: { id: familyId }, data: { organizationId } });
  }

  /** Revokes the family; false when it already was. */
  async revokeFamily(db: Db, familyId: string, reason: string): Promise<boolean> {
    const { count } = await db.refreshTokenFamily.updateMany({
      where: { id: familyId, revokedAt: null },
      data: { revokedAt: new Date(), revokedReason: reason },
    });
    return count === 1;
  }
}
