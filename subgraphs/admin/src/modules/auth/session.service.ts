import { createHash, randomBytes } from "node:crypto";
import {
  AppError,
  ErrorCode,
  issueAccessToken,
  isUniqueViolation,
  type KeyRing,
  type Logger,
  type PrismaClient,
  type User as UserRow,
  writeAudit,
} from "@sprintconnect/core";
import { isUuid } from "@sprintconnect/subgraph-kit";
import type { CodeExchange, OidcClient, VerifiedIdentity } from "./oidc.client";
import type { SessionRepository } from "./session.repository";
import type { AuthTokens } from "./session.type";

/** Where a login request came from, for the audit log. */
export interface LoginSource {
  requestId: string;
  ip: string | null;
}

export interface SessionSettings {
  keys: KeyRing;
  issuer: string;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
}

/** Refresh tokens are 256 random bits: `scr_` and 43 base64url characters. */
const REFRESH_TOKEN = /^scr_[A-Za-z0-9_-]{43}$/;
const MAX_INPUT = 4096;

const refused = () => new AppError(ErrorCode.INVALID_GRANT, "The refresh token is invalid, expired or revoked");

/**
 * Logins and their refresh tokens. A login (OIDC code exchange) finds the person by their
 * identity (issuer and subject), never by email: a verified email only claims a user row that
 * has no identity yet (an invitation, or an organization's owner named by `org create`), and
 * with it the invitations to that email. Each login starts a refresh token family; each refresh
 * uses one token up and issues the next; a used token that comes back revokes the family.
 */
export class SessionService {
  constructor(
    private readonly db: PrismaClient,
    private readonly sessions: SessionRepository,
    private readonly oidc: OidcClient | null,
    private readonly settings: SessionSettings,
    private readonly logger: Logger,
  ) {}

  async login(source: LoginSource, input: CodeExchange & { organizationId?: string | null }): Promise<AuthTokens> {
    if (!this.oidc) throw new AppError(ErrorCode.SERVICE_UNAVAILABLE, "OIDC login is not configured");
    for (const [field, value] of Object.entries({
      code: input.code,
      codeVerifier: input.codeVerifier,
      redirectUri: input.redirectUri,
      nonce: input.nonce,
    })) {
      if (value.length === 0 || value.length > MAX_INPUT) {
        throw new AppError(ErrorCode.VALIDATION_FAILED, `${field} must be 1 to ${MAX_INPUT} characters`, { field });
      }
    }
    if (input.organizationId != null && !isUuid(input.organizationId)) {
      throw new AppError(ErrorCode.NO_MEMBERSHIP, "You are not a member of that organization");
    }
    const identity = await this.oidc.exchange(input);
    const user = await this.findOrCreateUser(identity);
    const memberships = await this.sessions.activeMemberships(this.db, user.id);
    let organizationId: string;
    if (input.organizationId != null) {
      if (!memberships.some((m) => m.organizationId === input.organizationId)) {
        throw new AppError(ErrorCode.NO_MEMBERSHIP, "You are not a member of that organization");
      }
      organizationId = input.organizationId;
    } else if (memberships.length === 1 && memberships[0]) {
      organizationId = memberships[0].organizationId;
    } else if (memberships.length === 0) {
      throw new AppError(
        ErrorCode.NO_MEMBERSHIP,
        "You are not a member of any organization; ask an administrator to add your email",
      );
    } else {
      throw new AppError(
        ErrorCode.ORGANIZATION_REQUIRED,
        "You belong to several organizations: name one with organizationId",
        {
          organizations: memberships.map((m) => ({ id: m.organizationId, name: m.organizationName })),
        },
      );
    }
    const refresh = newRefreshToken();
    const refreshExpiresAt = new Date(Date.now() + this.settings.refreshTokenTtlSeconds * 1000);
    await this.db.$transaction(async (tx) => {
      const familyId = await this.sessions.createFamily(tx, {
        userId: user.id,
        organizationId,
        expiresAt: refreshExpiresAt,
        tokenHash: refresh.hash,
      });
      await writeAudit(tx, {
        organizationId,
        actorType: "user",
        actorId: user.id,
        action: "auth.login",
        targetType: "user",
        targetId: user.id,
        requestId: source.requestId,
        ip: source.ip,
        data: { method: "oidc", issuer: identity.issuer, familyId },
      });
    });
    return this.tokens(user.id, organizationId, refresh.token, refreshExpiresAt);
  }

  async refresh(source: LoginSource, refreshToken: string, organizationId?: string | null): Promise<AuthTokens> {
    if (!REFRESH_TOKEN.test(refreshToken)) throw refused();
    const stored = await this.sessions.findToken(this.db, hashRefreshToken(refreshToken));
    const now = new Date();
    if (!stored || stored.family.revokedAt || stored.family.expiresAt <= now || stored.expiresAt <= now)
      throw refused();
    const { family } = stored;
    const target = organizationId ?? family.organizationId;
    const next = newRefreshToken();
    const rotated = await this.db.$transaction(async (tx) => {
      if (!(await this.sessions.markRotated(tx, stored.id))) return false;
      if (!isUuid(target) || !(await this.sessions.isActiveMember(tx, target, family.userId))) {
        throw new AppError(ErrorCode.NO_MEMBERSHIP, "You are no longer a member of that organization");
      }
      await this.sessions.addToken(tx, family.id, next.hash, family.expiresAt, target);
      return true;
    });
    if (!rotated) {
      // A token that was already exchanged came back: whoever holds the newer one may be a
      // thief, or may be the owner; we cannot tell, so the whole login ends.
      await this.revokeFamily(source, family, "reuse", "auth.refresh_reuse_detected");
      throw refused();
    }
    return this.tokens(family.userId, target, next.token, family.expiresAt);
  }

  /** Ends the login the token belongs to. Unknown or already revoked tokens answer the same. */
  async logout(source: LoginSource, refreshToken: string): Promise<boolean> {
    if (!REFRESH_TOKEN.test(refreshToken)) return true;
    const stored = await this.sessions.findToken(this.db, hashRefreshToken(refreshToken));
    if (stored && !stored.family.revokedAt) await this.revokeFamily(source, stored.family, "logout", "auth.logout");
    return true;
  }

  private async revokeFamily(
    source: LoginSource,
    family: { id: string; userId: string; organizationId: string },
    reason: string,
    action: string,
  ): Promise<void> {
    await this.db.$transaction(async (tx) => {
      if (!(await this.sessions.revokeFamily(tx, family.id, reason))) return;
      await writeAudit(tx, {
        organizationId: family.organizationId,
        actorType: "user",
        actorId: family.userId,
        action,
        targetType: "user",
        targetId: family.userId,
        requestId: source.requestId,
        ip: source.ip,
        data: { familyId: family.id, reason },
      });
    });
    if (reason === "reuse") this.logger.warn({ familyId: family.id, userId: family.userId }, "refresh token reused");
  }

  /**
   * The user of this identity. First login: a new user, or, when the provider verified the
   * email, the identity-less user row of that email (created by an invitation or `org create`),
   * whose invitations become memberships. An email already bound to another identity is never
   * taken over.
   */
  private async findOrCreateUser(identity: VerifiedIdentity): Promise<UserRow> {
    try {
      return await this.db.$transaction(async (tx) => {
        const known = await this.sessions.findUserByIdentity(tx, identity.issuer, identity.subject);
        if (known) {
          await this.sessions.touchLogin(tx, known.id);
          return known;
        }
        if (!identity.email || !identity.emailVerified) {
          throw new AppError(
            ErrorCode.NO_MEMBERSHIP,
            "The provider did not confirm your email address, which a first login needs",
          );
        }
        const byEmail = await this.sessions.findUserByEmail(tx, identity.email);
        if (byEmail && byEmail.oidcSubject !== null) {
          throw new AppError(ErrorCode.CONFLICT, "This email address belongs to another login identity");
        }
        if (byEmail) {
          if (!(await this.sessions.bindIdentity(tx, byEmail.id, identity.issuer, identity.subject))) {
            throw new AppError(ErrorCode.CONFLICT, "A concurrent login conflicted; try again");
          }
          await this.sessions.acceptInvitations(tx, byEmail.id);
          return byEmail;
        }
        return this.sessions.createUser(tx, {
          email: identity.email,
          name: identity.name,
          issuer: identity.issuer,
          subject: identity.subject,
        });
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new AppError(ErrorCode.CONFLICT, "A concurrent login conflicted; try again");
      throw err;
    }
  }

  private async tokens(
    userId: string,
    organizationId: string,
    refreshToken: string,
    refreshExpiresAt: Date,
  ): Promise<AuthTokens> {
    const { token, expiresAt } = await issueAccessToken(
      this.settings.keys,
      { userId, organizationId },
      { issuer: this.settings.issuer, ttlSeconds: this.settings.accessTokenTtlSeconds },
    );
    return {
      accessToken: token,
      tokenType: "Bearer",
      expiresIn: this.settings.accessTokenTtlSeconds,
      expiresAt,
      refreshToken,
      refreshExpiresAt,
      userId,
      organizationId,
    };
  }
}

function newRefreshToken(): { token: string; hash: string } {
  const token = `scr_${randomBytes(32).toString("base64url")}`;
  return { token, hash: hashRefreshToken(token) };
}

/** Refresh tokens are 256 random bits: a plain SHA-256 is enough to store them (no guessing to slow down). */
export function hashRefreshToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}
