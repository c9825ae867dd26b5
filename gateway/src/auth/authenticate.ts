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
 * Where failed authentications are counted, per client IP (`RateLimits` in Redis). Checked
 * before any hash or database lookup, so a blocked IP costs neither.
 */
export interface AuthFailureCounter {
  /** Throws RATE_LIMITED (with `retryAfter`) while `ip` is over its failed-authentication limit. */
  assertNotBlocked(ip: string): Promise<void>;
  /** Counts one failed authentication from `ip`. */
  recordFailure(ip: string): Promise<void>;
}

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
    private readonly failures: AuthFailureCounter,
  ) {}

  /**
   * Authenticates a request or a new connection from `ip`: null when no credentials were
   * given; UNAUTHENTICATED when they are wrong, which counts against the IP; RATE_LIMITED,
   * before anything is hashed or read, while the IP has too many recent failures (whatever
   * the credentials: a blocked IP cannot try more keys, nor use a valid one, until the
   * window passes).
   */
  async authenticate(authorization: string | undefined, ip: string): Promise<Principal | null> {
    if (authorization === undefined || authorization === "") return null;
    await this.failures.assertNotBlocked(ip);
    try {
      return await this.verify(authorization);
    } catch (err) {
      if (err instanceof AppError && err.code === ErrorCode.UNAUTHENTICATED) await this.failures.recordFailure(ip);
      throw err;
    }
  }

  /**
   * Checks credentials without counting failures: for credentials a connection was already
   * accepted with (a subscription connection's periodic re-check), which a caller cannot vary.
   */
  async verify(authorization: string): Promise<Principal | null> {
    if (authorization === "") return null;
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
        ancestorInvalid: boolean;
      }>
    >`SELECT k.id, k."organizationId", k."userId", k.scopes, k."expiresAt", k."revokedAt", k."lastUsedAt", m.role,
             -- A key created by a key never outlives it. Revocation cascades and expiry is clamped
             -- when keys are created; this holds even for a row that escaped both.
             EXISTS (
               WITH RECURSIVE ancestors AS (
                 SELECT p.id, p."parentKeyId", p."revokedAt", p."expiresAt" FROM "ApiKey" p WHERE p.id = k."parentKeyId"
                 UNION
                 SELECT p.id, p."parentKeyId", p."revokedAt", p."expiresAt"
                   FROM "ApiKey" p JOIN ancestors a ON p.id = a."parentKeyId"
               )
               SELECT 1 FROM ancestors WHERE "revokedAt" IS NOT NULL OR "expiresAt" <= now()
             ) AS "ancestorInvalid"
        FROM "ApiKey" k
        JOIN "Membership" m ON m."organizationId" = k."organizationId" AND m."userId" = k."userId"
       WHERE k.hash = ${hashApiKey(this.options.apiKeyPepper, key)}`;
    const now = new Date();
    if (!row || row.revokedAt || (row.expiresAt && row.expiresAt <= now) || row.ancestorInvalid) throw invalid();
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
