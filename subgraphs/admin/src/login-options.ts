import type { Logger, SubgraphEnv } from "@sprintconnect/core";
import { EgressGuard, parseEgressPolicy } from "@sprintconnect/mcp";
import type { LoginOptions } from "./schema";

/** The login settings of the configuration: the OIDC provider (or none), lifetimes, and the egress guard. */
export function loginOptionsFromEnv(env: SubgraphEnv, logger: Logger): LoginOptions {
  return {
    oidc:
      env.OIDC_DISCOVERY_URL && env.OIDC_CLIENT_ID
        ? {
            discoveryUrl: env.OIDC_DISCOVERY_URL,
            clientId: env.OIDC_CLIENT_ID,
            ...(env.OIDC_CLIENT_SECRET ? { clientSecret: env.OIDC_CLIENT_SECRET } : {}),
            redirectUris: env.OIDC_REDIRECT_URIS,
            clockToleranceSeconds: env.OIDC_CLOCK_TOLERANCE_SECONDS,
            production: env.APP_ENV === "production",
          }
        : null,
    issuer: env.JWT_ISSUER,
    accessTokenTtlSeconds: env.JWT_ACCESS_TOKEN_TTL_SECONDS,
    refreshTokenTtlSeconds: env.JWT_REFRESH_TOKEN_TTL_SECONDS,
    // The provider is reached like MCP servers: ALLOWED_EGRESS_HOSTS (loopback only if named).
    egress: new EgressGuard(parseEgressPolicy(env.ALLOWED_EGRESS_HOSTS), { logger, timeoutMs: 10_000 }).fetch,
    logger,
  };
}
