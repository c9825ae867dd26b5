import { jwtVerify, SignJWT } from "jose";
import { AppError, ErrorCode } from "../errors";
import type { KeyRing } from "./keys";
import { isScope, type Principal, ROLES } from "./principal";

/** Audience of access tokens we issue to users. */
export const API_AUDIENCE = "sprintconnect-api";
/** Audience of the internal tokens the gateway sends to subgraphs. */
export const SUBGRAPH_AUDIENCE = "sprintconnect-subgraphs";
/** Header that carries the internal token from the gateway to a subgraph. */
export const INTERNAL_TOKEN_HEADER = "x-sprintconnect-internal-token";

const INTERNAL_TTL_SECONDS = 120;

/** Issues an access token for a user acting in an organization. */
export async function issueAccessToken(
  keys: KeyRing,
  claims: { userId: string; organizationId: string },
  options: { issuer: string; ttlSeconds: number },
): Promise<{ token: string; expiresAt: Date }> {
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({ org: claims.organizationId })
    .setProtectedHeader({ alg: "ES256", kid: keys.kid, typ: "JWT" })
    .setSubject(claims.userId)
    .setIssuer(options.issuer)
    .setAudience(API_AUDIENCE)
    .setIssuedAt(now)
    .setExpirationTime(now + options.ttlSeconds)
    .sign(keys.privateKey);
  return { token, expiresAt: new Date((now + options.ttlSeconds) * 1000) };
}

/** Verifies an access token; the caller still checks the membership in the database. */
export async function verifyAccessToken(
  keys: KeyRing,
  token: string,
  issuer: string,
): Promise<{ userId: string; organizationId: string; expiresAt: Date | null }> {
  try {
    const { payload } = await jwtVerify(token, keys.publicKey, {
      algorithms: ["ES256"],
      audience: API_AUDIENCE,
      issuer,
    });
    if (typeof payload.sub !== "string" || typeof payload.org !== "string") throw new Error("claims");
    return {
      userId: payload.sub,
      organizationId: payload.org,
      expiresAt: typeof payload.exp === "number" ? new Date(payload.exp * 1000) : null,
    };
  } catch {
    throw new AppError(ErrorCode.UNAUTHENTICATED, "Invalid or expired token");
  }
}

/**
 * Signs the principal for the subgraphs. Tokens are cached per principal for half their life,
 * because signing on every request would cost more than the request.
 */
export class InternalTokenSigner {
  private readonly cache = new Map<string, { token: string; refreshAt: number }>();

  constructor(private readonly keys: KeyRing) {}

  async sign(principal: Principal): Promise<string> {
    const cacheKey = `${principal.organizationId}|${principal.userId}|${principal.apiKeyId ?? ""}|${principal.role}|${principal.scopes.join(",")}|${principal.accessEpoch ?? ""}`;
    const hit = this.cache.get(cacheKey);
    const now = Date.now();
    if (hit && hit.refreshAt > now) return hit.token;
    const token = await new SignJWT({ principal })
      .setProtectedHeader({ alg: "ES256", kid: this.keys.kid })
      .setIssuer("sprintconnect-gateway")
      .setAudience(SUBGRAPH_AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(`${INTERNAL_TTL_SECONDS}s`)
      .sign(this.keys.privateKey);
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(cacheKey, { token, refreshAt: now + (INTERNAL_TTL_SECONDS * 1000) / 2 });
    return token;
  }
}

/** Verifies internal tokens in a subgraph, caching each verified token until it expires. */
export class InternalTokenVerifier {
  private readonly cache = new Map<string, { principal: Principal; expiresAt: number }>();

  constructor(private readonly keys: KeyRing) {}

  async verify(token: string): Promise<Principal> {
    const now = Date.now();
    const hit = this.cache.get(token);
    if (hit && hit.expiresAt > now) return hit.principal;
    try {
      const { payload } = await jwtVerify(token, this.keys.publicKey, {
        algorithms: ["ES256"],
        audience: SUBGRAPH_AUDIENCE,
        issuer: "sprintconnect-gateway",
      });
      const principal = parsePrincipal(payload.principal);
      if (this.cache.size > 10_000) this.cache.clear();
      this.cache.set(token, { principal, expiresAt: (payload.exp ?? 0) * 1000 });
      return principal;
    } catch {
      throw new AppError(ErrorCode.UNAUTHENTICATED, "Invalid internal token");
    }
  }
}

function parsePrincipal(value: unknown): Principal {
  const p = value as Principal;
  if (
    !p ||
    typeof p.organizationId !== "string" ||
    typeof p.userId !== "string" ||
    !(ROLES as readonly string[]).includes(p.role) ||
    !Array.isArray(p.scopes) ||
    !p.scopes.every((s) => typeof s === "string" && isScope(s))
  ) {
    throw new Error("malformed principal");
  }
  return {
    organizationId: p.organizationId,
    userId: p.userId,
    apiKeyId: typeof p.apiKeyId === "string" ? p.apiKeyId : null,
    role: p.role,
    scopes: p.scopes,
    authMethod: p.authMethod === "api_key" ? "api_key" : "jwt",
    ...(Number.isSafeInteger(p.accessEpoch) && (p.accessEpoch as number) > 0 ? { accessEpoch: p.accessEpoch } : {}),
  };
}
