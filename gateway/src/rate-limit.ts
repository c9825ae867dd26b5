import {
  ACCESS_EPOCH_LUA,
  AppError,
  AUTH_EPOCH_KEY,
  accessEpochKey,
  ErrorCode,
  type GatewayEnv,
  type Principal,
  type Redis,
} from "@sprintconnect/core";
import type { AuthFailureCounter } from "./auth/authenticate";

/**
 * Fixed-window counters, the semantics rate-limiter-flexible's RateLimiterRedis has (and its
 * key names, `<prefix>:<limiter>:<key>`): the first request of a window sets the counter with
 * the window as TTL, each request increments it, a request past the limit is refused until the
 * key expires. All limits of a request are one script, so one Redis round trip; the script
 * also reads the authentication epoch (see `AuthCache`), so a request learns in the same trip
 * whether its cached credentials are current.
 */
const TAKE = `
local function take(key, seconds)
  redis.call('SET', key, 0, 'EX', seconds, 'NX')
  local consumed = redis.call('INCR', key)
  local ttl = redis.call('PTTL', key)
  if ttl == -1 then
    redis.call('EXPIRE', key, seconds)
    ttl = 1000 * seconds
  end
  return consumed, ttl
end
`;

/**
 * KEYS: auth epoch, failed authentications of the IP, caller, caller's burst, organization, day,
 * the organization's access epoch (the last three '' without an organization). ARGV: check
 * failures (1/0), failure limit, caller limit, caller seconds, burst size, burst seconds,
 * organization limit, its seconds, day limit, its seconds. Returns {epoch, outcome, ms before the
 * window ends, access epoch (0 without an organization)}; outcome 0 admitted, 1 IP blocked by
 * failed authentications, 2 caller over its rate and burst, 3 organization over its rate, 4 daily
 * quota used up. A caller over its own limit does not use up its organization's.
 */
const ADMIT = `${TAKE}${ACCESS_EPOCH_LUA}
local epoch = tonumber(redis.call('GET', KEYS[1]) or '0')
local access = 0
if KEYS[7] ~= '' then access = access_epoch(KEYS[7]) end
if ARGV[1] == '1' then
  local failures = tonumber(redis.call('GET', KEYS[2]) or '0')
  if failures >= tonumber(ARGV[2]) then return {epoch, 1, redis.call('PTTL', KEYS[2]), access} end
end
local consumed, ttl = take(KEYS[3], ARGV[4])
if consumed > tonumber(ARGV[3]) then
  local burst, burstTtl = take(KEYS[4], ARGV[6])
  if burst > tonumber(ARGV[5]) then return {epoch, 2, math.min(ttl, burstTtl), access} end
end
if KEYS[5] == '' then return {epoch, 0, 0, access} end
local org, orgTtl = take(KEYS[5], ARGV[8])
local day, dayTtl = take(KEYS[6], ARGV[10])
if org > tonumber(ARGV[7]) then return {epoch, 3, orgTtl, access} end
if day > tonumber(ARGV[9]) then return {epoch, 4, dayTtl, access} end
return {epoch, 0, 0, access}`;

/** KEYS: failed authentications of an IP. ARGV: window seconds. Counts one. */
const RECORD_FAILURE = `${TAKE}
take(KEYS[1], ARGV[1])
return 1`;

/** KEYS: failed authentications of an IP. Returns {count, ms before the window ends}. */
const FAILURES = `return {tonumber(redis.call('GET', KEYS[1]) or '0'), redis.call('PTTL', KEYS[1])}`;

interface RateLimitCommands {
  scAdmit(...args: string[]): Promise<[number, number, number, number]>;
  scRecordAuthFailure(key: string, seconds: string): Promise<number>;
  scAuthFailures(key: string): Promise<[number, number]>;
}

/** What one request's limits said: the refusal, if any, and the authentication epoch. */
export interface LimitOutcome {
  /** The current authentication epoch (`AuthCache.observe`). */
  epoch: number;
  /** The principal's organization's access epoch (`policy/access-epoch.ts`); 0 without a principal. */
  accessEpoch: number;
  /** RATE_LIMITED or QUOTA_EXCEEDED with `retryAfter`, or null when admitted. */
  refusal: AppError | null;
}

/**
 * Rate limits and quotas, shared by every gateway instance through Redis:
 * - each user or API key (or IP when unauthenticated): RATE_LIMIT_REQUESTS_PER_MINUTE, plus a
 *   burst allowance of RATE_LIMIT_BURST_SIZE that refills over RATE_LIMIT_BURST_WINDOW_SECONDS
 *   (taken only once the per-minute allowance is used, as rate-limiter-flexible's BurstyRateLimiter);
 * - each organization: RATE_LIMIT_ORG_REQUESTS_PER_MINUTE, and QUOTA_REQUESTS_PER_DAY per UTC day;
 * - each client IP: RATE_LIMIT_AUTH_FAILURES_PER_MINUTE failed authentications, after which
 *   requests with credentials from it are refused before they are checked (`AuthFailureCounter`).
 */
export class RateLimits implements AuthFailureCounter {
  private readonly redis: Redis & RateLimitCommands;

  constructor(
    redis: Redis,
    private readonly env: GatewayEnv,
    private readonly prefix = "sc:rl",
  ) {
    if (!("scAdmit" in redis)) {
      redis.defineCommand("scAdmit", { numberOfKeys: 7, lua: ADMIT });
      redis.defineCommand("scRecordAuthFailure", { numberOfKeys: 1, lua: RECORD_FAILURE });
      redis.defineCommand("scAuthFailures", { numberOfKeys: 1, lua: FAILURES });
    }
    this.redis = redis as Redis & RateLimitCommands;
  }

  async assertNotBlocked(ip: string): Promise<void> {
    const [failures, ttl] = await this.call(() => this.redis.scAuthFailures(this.failureKey(ip)));
    if (failures >= this.env.RATE_LIMIT_AUTH_FAILURES_PER_MINUTE) throw blocked(ttl);
  }

  async recordFailure(ip: string): Promise<void> {
    // The request fails with UNAUTHENTICATED either way; a Redis outage here is refused by
    // the next request's check.
    await this.redis.scRecordAuthFailure(this.failureKey(ip), "60").catch(() => undefined);
  }

  /** Counts one request; throws RATE_LIMITED or QUOTA_EXCEEDED with `retryAfter` seconds. */
  async consume(principal: Principal | null, ip: string): Promise<void> {
    const { refusal } = await this.check(principal, ip, false);
    if (refusal) throw refusal;
  }

  /**
   * Counts one request in one round trip and reads the authentication epoch. With
   * `checkFailures`, an IP over its failed-authentication limit is refused first (thrown: a
   * blocked IP's credentials must not be used, even cached ones). Other refusals are returned.
   */
  async check(principal: Principal | null, ip: string, checkFailures: boolean): Promise<LimitOutcome> {
    const { env, prefix } = this;
    const caller = !principal
      ? `ip:${ip}`
      : principal.apiKeyId
        ? `key:${principal.apiKeyId}`
        : `user:${principal.userId}`;
    const day = new Date().toISOString().slice(0, 10);
    const [epoch, outcome, ms, accessEpoch] = await this.call(() =>
      this.redis.scAdmit(
        AUTH_EPOCH_KEY,
        this.failureKey(ip),
        `${prefix}:caller:${caller}`,
        `${prefix}:burst:${caller}`,
        principal ? `${prefix}:org:${principal.organizationId}` : "",
        principal ? `${prefix}:day:${principal.organizationId}:${day}` : "",
        principal ? accessEpochKey(principal.organizationId) : "",
        checkFailures ? "1" : "0",
        String(env.RATE_LIMIT_AUTH_FAILURES_PER_MINUTE),
        String(env.RATE_LIMIT_REQUESTS_PER_MINUTE),
        "60",
        String(env.RATE_LIMIT_BURST_SIZE),
        String(env.RATE_LIMIT_BURST_WINDOW_SECONDS),
        String(env.RATE_LIMIT_ORG_REQUESTS_PER_MINUTE),
        "60",
        String(env.QUOTA_REQUESTS_PER_DAY),
        "86400",
      ),
    );
    if (outcome === 1) throw blocked(ms);
    const refusal =
      outcome === 4
        ? new AppError(ErrorCode.QUOTA_EXCEEDED, "Daily request quota exceeded", { retryAfter: secondsToUtcMidnight() })
        : outcome === 2 || outcome === 3
          ? new AppError(ErrorCode.RATE_LIMITED, "Too many requests", { retryAfter: seconds(ms) })
          : null;
    return { epoch, accessEpoch, refusal };
  }

  private failureKey(ip: string): string {
    return `${this.prefix}:authfail:${ip}`;
  }

  /** Runs a command, or refuses at once while Redis is not connected (no queueing behind an outage). */
  private async call<T>(command: () => Promise<T>): Promise<T> {
    if (this.redis.status !== "ready") throw unavailable();
    try {
      return await command();
    } catch {
      throw unavailable();
    }
  }
}

function unavailable(): AppError {
  return new AppError(ErrorCode.SERVICE_UNAVAILABLE, "Rate limiting is unavailable");
}

function blocked(ms: number): AppError {
  return new AppError(ErrorCode.RATE_LIMITED, "Too many failed authentications from this address", {
    retryAfter: seconds(ms),
  });
}

/** Whole seconds until a window that ends in `ms` milliseconds ends, at least 1. */
function seconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

function secondsToUtcMidnight(): number {
  const now = new Date();
  const midnight = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1);
  return Math.max(1, Math.ceil((midnight - now.getTime()) / 1000));
}
