import type { Logger, PrismaClient } from "@sprintconnect/core";

/**
 * Writes API keys' `lastUsedAt` in batches instead of on requests: each authenticated request
 * records its key in memory, and every `intervalMs` one UPDATE writes every key used since
 * (never moving a `lastUsedAt` backwards, so gateways writing the same key agree). `stop`
 * writes what is pending. `lastUsedAt` lags the key's real last use by at most `intervalMs`
 * (plus the time of the write), or by everything pending if a gateway dies without stopping.
 */
export class LastUsedRecorder {
  private pending = new Map<string, Date>();
  private readonly timer: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: PrismaClient,
    intervalMs: number,
    private readonly logger: Logger,
  ) {
    this.timer = setInterval(() => void this.flush(), intervalMs);
    this.timer.unref();
  }

  /** Notes that `apiKeyId` was used now. */
  record(apiKeyId: string): void {
    this.pending.set(apiKeyId, new Date());
  }

  /** Writes every pending `lastUsedAt` in one statement; waits for a write already under way. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.write());
    return this.flushing;
  }

  /** Stops the timer and writes what is pending. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  private async write(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    const ids = [...batch.keys()];
    const times = [...batch.values()].map((t) => t.toISOString());
    try {
      await this.db.$executeRaw`
        UPDATE "ApiKey" k SET "lastUsedAt" = u.at
          FROM unnest(${ids}::uuid[], ${times}::timestamptz[]) AS u(id, at)
         WHERE k.id = u.id AND (k."lastUsedAt" IS NULL OR k."lastUsedAt" < u.at)`;
    } catch (err) {
      // Bookkeeping only: keep the batch for the next write (newer uses win).
      for (const [id, at] of batch) if (!this.pending.has(id)) this.pending.set(id, at);
      this.logger.warn({ err, keys: ids.length }, "could not write API keys' lastUsedAt; will retry");
    }
  }
}
