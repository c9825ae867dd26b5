import type { Redis } from "ioredis";
import type { Logger } from "../logger";

/**
 * The access epoch of an organization: a number in Redis that changes, after the commit, with
 * every change of its access policies or its default access (the admin subgraph). The gateway
 * reads it in its one per-request rate-limit script and passes it to the subgraphs in the
 * internal token (`Principal.accessEpoch`); a subgraph keeps the organization's policies read
 * under an epoch and reuses them while requests carry that epoch. A request admitted after a
 * change's announcement carries the new epoch, which no cache holds yet, so the change applies
 * to the next request on every instance.
 *
 * Values never repeat, even if Redis loses the key: a missing key is created from Redis's clock
 * in milliseconds, and a change sets `max(current + 1, now)`, so a reset key starts above any
 * epoch handed out before (a cache entry of an old epoch is never taken for a new one).
 */

/** Redis key of an organization's access epoch. */
export function accessEpochKey(organizationId: string): string {
  return `sprintconnect:access:epoch:${organizationId}`;
}

/**
 * Lua: `access_epoch(key)` returns the epoch, creating it from the clock when missing. Part of
 * the gateway's rate-limit script and of `readAccessEpoch`, so both read it the same way.
 */
export const ACCESS_EPOCH_LUA = `
local function clock_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function access_epoch(key)
  local value = redis.call('GET', key)
  if value then return tonumber(value) end
  local now = clock_ms()
  redis.call('SET', key, now)
  return now
end
`;

// KEYS: the epoch. Returns the new epoch.
const BUMP = `${ACCESS_EPOCH_LUA}
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local epoch = math.max(current + 1, clock_ms())
redis.call('SET', KEYS[1], epoch)
return epoch`;

// KEYS: the epoch. Returns it.
const READ = `${ACCESS_EPOCH_LUA}
return access_epoch(KEYS[1])`;

interface AccessEpochCommands {
  scBumpAccessEpoch(key: string): Promise<number>;
  scReadAccessEpoch(key: string): Promise<number>;
}

function commands(redis: Redis): Redis & AccessEpochCommands {
  if (!("scBumpAccessEpoch" in redis)) {
    redis.defineCommand("scBumpAccessEpoch", { numberOfKeys: 1, lua: BUMP });
    redis.defineCommand("scReadAccessEpoch", { numberOfKeys: 1, lua: READ });
  }
  return redis as Redis & AccessEpochCommands;
}

/** The organization's current access epoch (created when missing), as the gateway reads it. */
export function readAccessEpoch(redis: Redis, organizationId: string): Promise<number> {
  return commands(redis).scReadAccessEpoch(accessEpochKey(organizationId));
}

/**
 * Moves the organization's access epoch: every cache of its policies reads them again. Call it
 * after the change has committed (a reader that sees the new epoch must see the change). Returns
 * the new epoch.
 */
export function announceAccessChange(redis: Redis, organizationId: string): Promise<number> {
  return commands(redis).scBumpAccessEpoch(accessEpochKey(organizationId));
}

/**
 * Announces that an organization's access changed (`announceAccessChange`). Never
 * throws: the change is committed; if Redis cannot be reached, caches keep the old policies for
 * at most their TTL (`POLICY_CACHE_TTL_SECONDS`), which is logged.
 */
export type AccessChangeNotifier = (organizationId: string) => Promise<void>;

/** An AccessChangeNotifier on `redis` that logs what it could not announce. */
export function redisAccessChangeNotifier(redis: Redis, logger: Logger): AccessChangeNotifier {
  return async (organizationId) => {
    try {
      await announceAccessChange(redis, organizationId);
    } catch (err) {
      logger.error(
        { err, organizationId },
        "could not announce an access policy change; subgraphs will apply it at most their policy cache TTL later",
      );
    }
  };
}
