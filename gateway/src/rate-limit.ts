import { AppError, ErrorCode, type GatewayEnv, type Principal, type Redis } from "@sprintconnect/core";
import { BurstyRateLimiter, RateLimiterRedis, RateLimiterRes } from "rate-limiter-flexible";
import type { AuthFailureCounter } from "./auth/authenticate";

/**
 * Rate limits and quotas, shared by every gateway instance through Redis:
 * - each user or API key (or IP when unauthenticated): RATE_LIMIT_REQUESTS_PER_MINUTE, plus a
 *   burst allowance of RATE_LIMIT_BURST_SIZE that refills over RATE_LIMIT_BURST_WINDOW_SECONDS;
 * - each organization: RATE_LIMIT_ORG_REQUESTS_PER_MINUTE, and QUOTA_REQUESTS_PER_DAY per UTC day;
 * - each client IP: RATE_LIMIT_AUTH_FAILURES_PER_MINUTE failed authentications, after which
 *   requests with credentials from it are refused before they are checked (`AuthFailureCounter`).
 */
export class RateLimits implements AuthFailureCounter {
  private readonly perCaller: BurstyRateLimiter;
  private readonly perOrg: RateLimiterRedis;
  private readonly daily: RateLimiterRedis;
  private readonly authFailures: RateLimiterRedis;

  constructor(redis: Redis, env: GatewayEnv, prefix = "sc:rl") {
    const common = { storeClient: redis, useRedisPackage: false, rejectIfRedisNotReady: true };
    const sustained = new RateLimiterRedis({
      ...common,
      keyPrefix: `${prefix}:caller`,
      points: env.RATE_LIMIT_REQUESTS_PER_MINUTE,
      duration: 60,
    });
    const burst = new RateLimiterRedis({
      ...common,
      keyPrefix: `${prefix}:burst`,
      points: env.RATE_LIMIT_BURST_SIZE,
      duration: env.RATE_LIMIT_BURST_WINDOW_SECONDS,
    });
    this.perCaller = new BurstyRateLimiter(sustained, burst);
    this.perOrg = new RateLimiterRedis({
      ...common,
      keyPrefix: `${prefix}:org`,
      points: env.RATE_LIMIT_ORG_REQUESTS_PER_MINUTE,
      duration: 60,
    });
    this.daily = new RateLimiterRedis({
      ...common,
      keyPrefix: `${prefix}:day`,
      points: env.QUOTA_REQUESTS_PER_DAY,
      duration: 86_400,
    });
    this.authFailures = new RateLimiterRedis({
      ...common,
      keyPrefix: `${prefix}:authfail`,
      points: env.RATE_LIMIT_AUTH_FAILURES_PER_MINUTE,
      duration: 60,
    });
  }

  async assertNotBlocked(ip: string): Promise<void> {
    let failures: RateLimiterRes | null;
    try {
      failures = await this.authFailures.get(ip);
    } catch {
      throw new AppError(ErrorCode.SERVICE_UNAVAILABLE, "Rate limiting is unavailable");
    }
    if (failures && failures.consumedPoints >= this.authFailures.points) {
      throw new AppError(ErrorCode.RATE_LIMITED, "Too many failed authentications from this address", {
        retryAfter: Math.max(1, Math.ceil(failures.msBeforeNext / 1000)),
      });
    }
  }

  async recordFailure(ip: string): Promise<void> {
    // The request fails with UNAUTHENTICATED either way; a Redis outage here is refused by
    // the next request's assertNotBlocked.
    await this.authFailures.penalty(ip, 1).catch(() => undefined);
  }

  /** Counts one request; throws RATE_LIMITED or QUOTA_EXCEEDED with `retryAfter` seconds. */
  async consume(principal: Principal | null, ip: string): Promise<void> {
    if (!principal) {
      await this.take(this.perCaller, `ip:${ip}`, ErrorCode.RATE_LIMITED);
      return;
    }
    const caller = principal.apiKeyId ? `key:${principal.apiKeyId}` : `user:${principal.userId}`;
    const day = new Date().toISOString().slice(0, 10);
    // A caller over its own limit must not use up its organization's: check it first. The
    // organization's two counters are independent, so they share one round trip's latency.
    await this.take(this.perCaller, caller, ErrorCode.RATE_LIMITED);
    const outcomes = await Promise.allSettled([
      this.take(this.perOrg, principal.organizationId, ErrorCode.RATE_LIMITED),
      this.take(this.daily, `${principal.organizationId}:${day}`, ErrorCode.QUOTA_EXCEEDED, secondsToUtcMidnight()),
    ]);
    const refused = outcomes.find((o): o is PromiseRejectedResult => o.status === "rejected");
    if (refused) throw refused.reason;
  }

  private async take(
    limiter: BurstyRateLimiter | RateLimiterRedis,
    key: string,
    code: ErrorCode,
    retryAfterOverride?: number,
  ): Promise<void> {
    try {
      await limiter.consume(key);
    } catch (err) {
      if (err instanceof RateLimiterRes) {
        const retryAfter = retryAfterOverride ?? Math.max(1, Math.ceil(err.msBeforeNext / 1000));
        throw new AppError(
          code,
          code === ErrorCode.QUOTA_EXCEEDED ? "Daily request quota exceeded" : "Too many requests",
          { retryAfter },
        );
      }
      throw new AppError(ErrorCode.SERVICE_UNAVAILABLE, "Rate limiting is unavailable");
    }
  }
}

function secondsToUtcMidnight(): number {
  const now = new Date();
  const midnight = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1);
  return Math.max(1, Math.ceil((midnight - now.getTime()) / 1000));
}
