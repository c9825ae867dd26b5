import {
  AppError,
  ErrorCode,
  effectiveScopes,
  hashApiKey,
  isWellFormedApiKey,
  type KeyRing,
  looksLikeApiKey,
  type Principal,
  type PrismaClient,
  type Role,
  verifyAccessToken,
} from "@sprintconnect/core";

/** Refresh `lastUsedAt` at most this often per key, so reads do not become writes. */
const LAST_USED_RESOLUTION_MS = 60_000;

/**
 * Turns an `Authorization: Bearer …` value into a principal: our ES256 JWT, or an API key
 * (`sc_…`, looked up by its HMAC). Membership and role are read on every request, so a
 * removed member or a revoked key loses access at once.
 */
export class Authenticator {
  constructor(
    private readonly db: PrismaClient,
    private readonly keys: KeyRing,
    private readonly options: { issuer: string; apiKeyPepper: string },
  ) {}

  /** null when no credentials were given; UNAUTHENTICATED when they are wrong. */
  async authenticate(authorization: string | undefined): Promise<Principal | null> {
    if (authorization === undefined || authorization === "") return null;
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match?.[1]) throw new AppError(ErrorCode.UNAUTHENTICATED, "Authorization must be 'Bearer <token>'");
    const token = match[1];
    return looksLikeApiKey(token) ? this.fromApiKey(token) : this.fromJwt(token);
  }

  private async fromJwt(token: string): Promise<Principal> {
    const { userId, organizationId } = await verifyAccessToken(this.keys, token, this.options.issuer);
    const membership = await this.db.membership.findUnique({
      where: { organizationId_userId: { organizationId, userId } },
      select: { role: true },
    });
    if (!membership) throw new AppError(ErrorCode.UNAUTHENTICATED, "Not a member of this organization");
    const role = membership.role as Role;
    return { organizationId, userId, apiKeyId: null, role, scopes: effectiveScopes(role), authMethod: "jwt" };
  }

  private async fromApiKey(key: string): Promise<Principal> {
    const invalid = () => new AppError(ErrorCode.UNAUTHENTICATED, "Invalid, expired or revoked API key");
    if (!isWellFormedApiKey(key)) throw invalid();
    // The key and its owner's membership in one round trip: this runs on every request.
    const [row] = await this.db.$queryRaw<
      Array<{
        id: string;
        organizationId: string;
        userId: string;
        scopes: string[];
        expiresAt: Date | null;
        revokedAt: Date | null;
        lastUsedAt: Date | null;
        role: Role;
      }>
    >`SELECT k.id, k."organizationId", k."userId", k.scopes, k."expiresAt", k."revokedAt", k."lastUsedAt", m.role
        FROM "ApiKey" k
        JOIN "Membership" m ON m."organizationId" = k."organizationId" AND m."userId" = k."userId"
       WHERE k.hash = ${hashApiKey(this.options.apiKeyPepper, key)}`;
    const now = new Date();
    if (!row || row.revokedAt || (row.expiresAt && row.expiresAt <= now)) throw invalid();
    if (!row.lastUsedAt || now.getTime() - row.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) {
      // Bookkeeping only: a failure here must not fail the request.
      void this.db.apiKey.update({ where: { id: row.id }, data: { lastUsedAt: now } }).catch(() => undefined);
    }
    const role = row.role;
    return {
      organizationId: row.organizationId,
      userId: row.userId,
      apiKeyId: row.id,
      role,
      scopes: effectiveScopes(role, row.scopes),
      authMethod: "api_key",
    };
  }
}
