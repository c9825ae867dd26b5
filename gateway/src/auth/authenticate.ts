import { createHash } from "node:crypto";
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
import type { LimitOutcome } from "../rate-limit";
import type { AuthCache } from "./auth-cache";
import type { LastUsedRecorder } from "./last-used";

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

/** The rate limits, as authentication uses them (`RateLimits`). */
export interface RequestLimiter extends AuthFailureCounter {
  /** Counts one request; throws RATE_LIMITED or QUOTA_EXCEEDED. */
  consume(principal: Principal | null, ip: string): Promise<void>;
  /** Counts one request in one round trip; throws while `ip` is blocked when `checkFailures`. */
  check(principal: Principal | null, ip: string, checkFailures: boolean): Promise<LimitOutcome>;
}

/** A credential read from the database: the principal and what invalidates or ends it. */
interface Resolved {
  principal: Principal;
  keyChain: string[];
  expiresAt: Date | null;
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/**
 * Turns an `Authorization: Bearer …` value into a principal: our ES256 JWT, or an API key
 * (`sc_…`, looked up by its HMAC). What the database said is kept in the `AuthCache` for a few
 * seconds; revocations, removals and role changes reach it at once through Redis (see
 * `AuthCache` for the bounds).
 */
export class Authenticator {
  constructor(
    private readonly db: PrismaClient,
    private readonly keys: KeyRing,
    private readonly options: { issuer: string; apiKeyPepper: string },
    private readonly limits: RequestLimiter,
    private readonly cache: AuthCache,
    private readonly lastUsed: LastUsedRecorder,
  ) {}

  /**
   * Authenticates a request from `ip` and counts it against the rate limits. Credentials in the
   * cache cost one Redis round trip (the limits, the IP's failed authentications and the
   * authentication epoch in one script); otherwise the IP's failures are checked before the
   * database is read. Throws UNAUTHENTICATED, RATE_LIMITED or QUOTA_EXCEEDED.
   */
  async admit(authorization: string | undefined, ip: string): Promise<Principal | null> {
    if (authorization === undefined || authorization === "") {
      await this.limits.consume(null, ip);
      return null;
    }
    const cached = this.cached(authorization);
    if (!cached) {
      const principal = await this.authenticate(authorization, ip);
      const { epoch, accessEpoch, refusal } = await this.limits.check(principal, ip, false);
      this.cache.observe(epoch);
      if (refusal) throw refusal;
      return withAccessEpoch(principal, accessEpoch);
    }
    const { epoch, accessEpoch, refusal } = await this.limits.check(cached, ip, true);
    // An invalidation this gateway has not applied yet (in flight, or lost): read again.
    const principal = this.cache.observe(epoch) ? cached : await this.authenticate(authorization, ip, false);
    if (refusal) throw refusal;
    return withAccessEpoch(principal, accessEpoch);
  }

  /**
   * Authenticates a request or a new connection from `ip`: null when no credentials were
   * given; UNAUTHENTICATED when they are wrong, which counts against the IP; RATE_LIMITED,
   * before anything is hashed or read, while the IP has too many recent failures (whatever
   * the credentials: a blocked IP cannot try more keys, nor use a valid one, until the
   * window passes).
   */
  async authenticate(authorization: string | undefined, ip: string, useCache = true): Promise<Principal | null> {
    if (authorization === undefined || authorization === "") return null;
    await this.limits.assertNotBlocked(ip);
    try {
      return await this.resolve(authorization, useCache);
    } catch (err) {
      if (err instanceof AppError && err.code === ErrorCode.UNAUTHENTICATED) await this.limits.recordFailure(ip);
      throw err;
    }
  }

  /**
   * Checks credentials without counting failures: for credentials a connection was already
   * accepted with (a subscription connection's re-checks), which a caller cannot vary.
   */
  verify(authorization: string): Promise<Principal | null> {
    return this.resolve(authorization, true);
  }

  /** The cached principal for these credentials, with no Redis or database call; undefined when not cached. */
  private cached(authorization: string): Principal | undefined {
    const token = BEARER.exec(authorization)?.[1];
    if (!token) return undefined;
    const principal = this.cache.get(this.digest(token))?.principal;
    if (principal?.apiKeyId) this.lastUsed.record(principal.apiKeyId);
    return principal;
  }

  private async resolve(authorization: string, useCache: boolean): Promise<Principal | null> {
    if (authorization === "") return null;
    const token = BEARER.exec(authorization)?.[1];
    if (!token) throw new AppError(ErrorCode.UNAUTHENTICATED, "Authorization must be 'Bearer <token>'");
    const apiKey = looksLikeApiKey(token);
    const digest = this.digest(token);
    const hit = useCache ? this.cache.get(digest) : undefined;
    if (hit) {
      if (hit.principal.apiKeyId) this.lastUsed.record(hit.principal.apiKeyId);
      return hit.principal;
    }
    const generation = this.cache.begin();
    const resolved = apiKey ? await this.fromApiKey(token, digest) : await this.fromJwt(token);
    this.cache.set(digest, resolved, generation, resolved.expiresAt);
    if (resolved.principal.apiKeyId) this.lastUsed.record(resolved.principal.apiKeyId);
    return resolved.principal;
  }

  /** The cache key of a token: an API key's stored HMAC, a JWT's SHA-256. */
  private digest(token: string): string {
    return looksLikeApiKey(token)
      ? hashApiKey(this.options.apiKeyPepper, token)
      : `jwt:${createHash("sha256").update(token).digest("hex")}`;
  }

  private async fromJwt(token: string): Promise<Resolved> {
    const { userId, organizationId, expiresAt } = await verifyAccessToken(this.keys, token, this.options.issuer);
    const membership = await this.db.membership.findUnique({
      where: { organizationId_userId: { organizationId, userId } },
      select: { role: true, status: true },
    });
    // An invitation (status `invited`) grants nothing until its person logs in (OIDC login).
    if (membership?.status !== "active")
      throw new AppError(ErrorCode.UNAUTHENTICATED, "Not a member of this organization");
    const role = membership.role as Role;
    return {
      principal: { organizationId, userId, apiKeyId: null, role, scopes: effectiveScopes(role), authMethod: "jwt" },
      keyChain: [],
      expiresAt,
    };
  }

  private async fromApiKey(key: string, hash: string): Promise<Resolved> {
    const invalid = () => new AppError(ErrorCode.UNAUTHENTICATED, "Invalid, expired or revoked API key");
    if (!isWellFormedApiKey(key)) throw invalid();
    // The key, its ancestors and its owner's membership in one round trip.
    const [row] = await this.db.$queryRaw<
      Array<{
        id: string;
        organizationId: string;
        userId: string;
        scopes: string[];
        expiresAt: Date | null;
        revokedAt: Date | null;
        role: Role;
        ancestorIds: string[];
        ancestorRevoked: boolean;
        ancestorExpiresAt: Date | null;
      }>
    >`SELECT k.id, k."organizationId", k."userId", k.scopes, k."expiresAt", k."revokedAt", m.role,
             a.ids AS "ancestorIds", a.revoked AS "ancestorRevoked", a."expiresAt" AS "ancestorExpiresAt"
        FROM "ApiKey" k
        JOIN "Membership" m ON m."organizationId" = k."organizationId" AND m."userId" = k."userId" AND m.status = 'active'
        -- A key created by a key never outlives it. Revocation cascades and expiry is clamped
        -- when keys are created; this holds even for a row that escaped both.
        CROSS JOIN LATERAL (
          WITH RECURSIVE ancestors AS (
            SELECT p.id, p."parentKeyId", p."revokedAt", p."expiresAt" FROM "ApiKey" p WHERE p.id = k."parentKeyId"
            UNION
            SELECT p.id, p."parentKeyId", p."revokedAt", p."expiresAt"
              FROM "ApiKey" p JOIN ancestors a ON p.id = a."parentKeyId"
          )
          SELECT coalesce(array_agg(id::text), '{}') AS ids, bool_or("revokedAt" IS NOT NULL) AS revoked,
                 min("expiresAt") AS "expiresAt"
            FROM ancestors
        ) a
       WHERE k.hash = ${hash}`;
    const now = new Date();
    const expiresAt = earliest(row?.expiresAt ?? null, row?.ancestorExpiresAt ?? null);
    if (!row || row.revokedAt || row.ancestorRevoked || (expiresAt && expiresAt <= now)) throw invalid();
    const role = row.role;
    return {
      principal: {
        organizationId: row.organizationId,
        userId: row.userId,
        apiKeyId: row.id,
        role,
        scopes: effectiveScopes(role, row.scopes),
        authMethod: "api_key",
      },
      keyChain: [row.id, ...row.ancestorIds],
      expiresAt,
    };
  }
}

function earliest(a: Date | null, b: Date | null): Date | null {
  if (!a) return b;
  if (!b) return a;
  return a < b ? a : b;
}

/**
 * The request's principal with the access epoch read in its rate-limit script, which the internal
 * token carries to the subgraphs (their policy caches, `policy/access-epoch.ts`). A copy: the
 * cached principal is shared by every request with the same credentials.
 */
function withAccessEpoch(principal: Principal | null, accessEpoch: number): Principal | null {
  return principal && accessEpoch > 0 ? { ...principal, accessEpoch } : principal;
}
