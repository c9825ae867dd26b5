import type { Redis } from "ioredis";
import { z } from "zod";
import type { Logger } from "../logger";
import { redisChannel } from "../redis";

/**
 * Invalidation of the gateways' authentication caches. A change that must end or narrow a
 * credential's access (a key revoked, a member removed, a role changed) is announced after its
 * transaction commits: one script increments the epoch counter and publishes the change with
 * the new epoch, so every gateway learns of it at once (pub/sub) and can also tell, from the
 * epoch that its rate-limit script reads on every request, that it has missed one (a lost
 * message, a subscriber that reconnected) and must not trust its cache until it catches up.
 */

/** Pub/sub channel of invalidations (JSON `AuthInvalidation`), named per database by `redisChannel`. */
export const AUTH_INVALIDATION_CHANNEL = "sprintconnect:auth:invalidations";
/** Counter incremented once per invalidation; its value is the invalidation's epoch. */
export const AUTH_EPOCH_KEY = "sprintconnect:auth:epoch";

/** What changed: every credential of the organization that matches must be read again. */
export interface AuthInvalidation {
  organizationId: string;
  /** Keys revoked (a revoked key and every key created through it). */
  apiKeyIds?: string[];
  /** A member whose role changed or who was removed: their tokens and keys. */
  userId?: string;
}

/** An invalidation as published, with its epoch. */
export interface PublishedAuthInvalidation extends AuthInvalidation {
  epoch: number;
}

const publishedSchema = z.object({
  epoch: z.number().int().positive(),
  organizationId: z.string(),
  apiKeyIds: z.array(z.string()).optional(),
  userId: z.string().optional(),
});

/** Parses a message of AUTH_INVALIDATION_CHANNEL; null for anything malformed. */
export function parseAuthInvalidation(message: string): PublishedAuthInvalidation | null {
  try {
    const parsed = publishedSchema.safeParse(JSON.parse(message));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

// KEYS: epoch counter. ARGV: channel, invalidation JSON (an object). Returns the epoch.
const PUBLISH_SCRIPT = `
local epoch = redis.call('INCR', KEYS[1])
local message = cjson.decode(ARGV[2])
message.epoch = epoch
redis.call('PUBLISH', ARGV[1], cjson.encode(message))
return epoch`;

interface InvalidationCommands {
  publishAuthInvalidation(epochKey: string, channel: string, json: string): Promise<number>;
}

/**
 * Announces `invalidation` to every gateway; call it after the change has committed (a gateway
 * that reads the credential again must see the change). Returns the invalidation's epoch.
 */
export async function publishAuthInvalidation(redis: Redis, invalidation: AuthInvalidation): Promise<number> {
  const commands = redis as unknown as Redis & InvalidationCommands;
  if (typeof commands.publishAuthInvalidation !== "function") {
    redis.defineCommand("publishAuthInvalidation", { numberOfKeys: 1, lua: PUBLISH_SCRIPT });
  }
  return commands.publishAuthInvalidation(
    AUTH_EPOCH_KEY,
    redisChannel(redis, AUTH_INVALIDATION_CHANNEL),
    JSON.stringify(invalidation),
  );
}

/**
 * Announces a committed change to the gateways (`publishAuthInvalidation`). Never throws: the
 * change is already committed; a lost announcement is bounded by the gateways' cache TTL.
 */
export type AuthInvalidator = (invalidation: AuthInvalidation) => Promise<void>;

/** An AuthInvalidator that publishes on `redis` and logs what it could not publish. */
export function redisAuthInvalidator(redis: Redis, logger: Logger): AuthInvalidator {
  return async (invalidation) => {
    const message = {
      organizationId: invalidation.organizationId,
      // cjson turns an empty array into an object: leave empty lists out.
      ...(invalidation.apiKeyIds?.length ? { apiKeyIds: invalidation.apiKeyIds } : {}),
      ...(invalidation.userId ? { userId: invalidation.userId } : {}),
    };
    try {
      await publishAuthInvalidation(redis, message);
    } catch (err) {
      logger.error(
        { err, invalidation: message },
        "could not publish an auth invalidation; gateways will notice at most their cache TTL later",
      );
    }
  };
}
