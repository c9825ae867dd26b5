import type { AuthInvalidation, Principal, PublishedAuthInvalidation } from "@sprintconnect/core";

/** A credential that authenticated, as the cache keeps it. */
export interface CachedCredential {
  principal: Principal;
  /** The API key and every key it was created through (empty for a token). */
  keyChain: readonly string[];
  /** When the entry must no longer be used (ms since the epoch): TTL, or the credential's own expiry if sooner. */
  expiresAt: number;
}

/** How long the cache waits for a missing invalidation message before it drops everything. */
export const EPOCH_LAG_MS = 2_000;

/** Whether `invalidation` concerns `entry`. */
export function affects(
  invalidation: AuthInvalidation,
  entry: Pick<CachedCredential, "principal" | "keyChain">,
): boolean {
  if (entry.principal.organizationId !== invalidation.organizationId) return false;
  if (invalidation.userId !== undefined && entry.principal.userId === invalidation.userId) return true;
  return invalidation.apiKeyIds?.some((id) => entry.keyChain.includes(id)) ?? false;
}

/**
 * The gateway's in-process authentication cache: credential digest → principal, for at most
 * `ttlMs` and never past the credential's expiry. Invalidations arrive on Redis pub/sub, each
 * with an epoch (a counter incremented per invalidation); the rate-limit script reads the
 * current epoch on every request, so a request can tell whether every invalidation up to now
 * has been applied here. Until then (a message in flight or lost) the cache is not trusted;
 * after EPOCH_LAG_MS of lag it is emptied and the epoch taken as applied.
 *
 * A read of the database that began before an invalidation arrived is not stored (`begin` and
 * `set` compare a generation), so a concurrent revocation cannot be undone by a late fill.
 */
export class AuthCache {
  private readonly entries = new Map<string, CachedCredential>();
  private generation = 0;
  /** Every invalidation up to this epoch has been applied (null until the first is known). */
  private applied: number | null = null;
  /** Epochs above `applied` whose message came early (out of order). */
  private readonly early = new Set<number>();
  /** The newest epoch a request has seen, and since when the cache lags behind it. */
  private newest = 0;
  private lagSince: number | null = null;

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** The entry for `digest` if it is still valid and the cache has every known invalidation. */
  get(digest: string): CachedCredential | undefined {
    if (!this.current()) return undefined;
    const entry = this.entries.get(digest);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.entries.delete(digest);
      return undefined;
    }
    return entry;
  }

  /** Call before reading a credential from the database; pass the result to `set`. */
  begin(): number {
    return this.generation;
  }

  /** Stores what a read begun at `generation` found, unless an invalidation arrived meanwhile. */
  set(digest: string, entry: Omit<CachedCredential, "expiresAt">, generation: number, expiresAt: Date | null): void {
    // Before `start` nothing says which invalidations an entry has missed: store nothing.
    if (this.ttlMs === 0 || this.applied === null || generation !== this.generation) return;
    const until = Math.min(this.now() + this.ttlMs, expiresAt?.getTime() ?? Number.POSITIVE_INFINITY);
    if (until <= this.now()) return;
    this.entries.delete(digest);
    if (this.entries.size >= this.maxEntries) {
      // Oldest first: Map keeps insertion order.
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(digest, { ...entry, expiresAt: until });
  }

  /**
   * The epoch the cache starts from (read once subscribed to invalidations). Anything stored
   * before is dropped: invalidations published before the subscription were never heard, so an
   * older entry (say, filled while a first subscription attempt was failing) could be one a
   * revocation had already condemned.
   */
  start(epoch: number): void {
    this.reset(epoch);
  }

  /** Applies a published invalidation: drops every entry it concerns. */
  apply(invalidation: PublishedAuthInvalidation): void {
    this.generation++;
    for (const [digest, entry] of this.entries) {
      if (affects(invalidation, entry)) this.entries.delete(digest);
    }
    this.newest = Math.max(this.newest, invalidation.epoch);
    if (this.applied === null || invalidation.epoch <= this.applied) return;
    this.early.add(invalidation.epoch);
    while (this.early.delete(this.applied + 1)) this.applied++;
    for (const epoch of this.early) if (epoch <= this.applied) this.early.delete(epoch);
    if (this.current()) this.lagSince = null;
  }

  /**
   * Records the epoch a request read from Redis; true when every invalidation up to it has been
   * applied (entries read from the cache for this request stand). A counter that went back
   * (Redis lost it) or a lag past EPOCH_LAG_MS empties the cache and starts again from `epoch`.
   */
  observe(epoch: number): boolean {
    if (this.applied === null) return false;
    if (epoch === this.applied) return true;
    const now = this.now();
    if (epoch < this.applied || (this.lagSince !== null && now - this.lagSince >= EPOCH_LAG_MS)) {
      this.reset(epoch);
      return false;
    }
    this.newest = Math.max(this.newest, epoch);
    this.lagSince ??= now;
    return false;
  }

  /** Drops every entry, e.g. when the invalidation channel reconnected and may have missed messages. */
  clear(): void {
    this.generation++;
    this.entries.clear();
  }

  private reset(epoch: number): void {
    this.clear();
    this.applied = epoch;
    this.newest = epoch;
    this.early.clear();
    this.lagSince = null;
  }

  /** No invalidation is known to be missing. */
  private current(): boolean {
    return this.applied !== null && this.newest <= this.applied;
  }
}
