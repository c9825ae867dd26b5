import type { Db, DefaultAccess, Organization as OrganizationRow } from "@sprintconnect/core";

/**
 * The only code that reads or writes Organization rows. A caller only ever reads its own
 * organization (`organizationId` comes from the principal); creation is a system operation.
 */
export class OrganizationRepository {
  constructor(private readonly db: Db) {}

  findById(organizationId: string, db: Db = this.db): Promise<OrganizationRow | null> {
    return db.organization.findUnique({ where: { id: organizationId } });
  }

  /** Slugs equal to `base` or `base-…`, to find a free one. */
  async slugsLike(db: Db, base: string): Promise<Set<string>> {
    const rows = await db.organization.findMany({
      where: { OR: [{ slug: base }, { slug: { startsWith: `${base}-` } }] },
      select: { slug: true },
    });
    return new Set(rows.map((r) => r.slug));
  }

  updateSettings(
    db: Db,
    organizationId: string,
    data: { holdNewCapabilitiesForReview?: boolean; defaultAccess?: DefaultAccess },
  ): Promise<OrganizationRow> {
    return db.organization.update({ where: { id: organizationId }, data });
  }

  create(db: Db, data: { name: string; slug: string }): Promise<OrganizationRow> {
    return db.organization.create({ data });
  }

  /** Serializes creations that want the same slug for the rest of the transaction. */
  async lockSlug(db: Db, base: string): Promise<void> {
    await db.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`org-slug:${base}`}, 0))`;
  }
}
