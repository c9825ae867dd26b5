import type { Prisma } from "@prisma/client";
import type { PrismaClient } from "../db/prisma";
import type { Logger } from "../logger";

/** Kinds of usage event, one list for every component that meters (and for the rollups). */
export const USAGE_KINDS = [
  /** One API request at the gateway (GraphQL or REST), with its operation, route, status and latency. */
  "api.request",
  /** One discovery search (query and result count). */
  "discovery.search",
  /** One discovery run of a server (tools, resources, prompts listed). */
  "discovery.run",
  /** One health check of a server. */
  "health.check",
  /** One model call of a chat turn (tokens, cost, latency). */
  "chat.model_call",
  /** One tool call of a chat turn. */
  "chat.tool_call",
] as const;
export type UsageKind = (typeof USAGE_KINDS)[number];

/** One use, as a component reports it. Everything but the organization and the kind is optional. */
export interface UsageRecord {
  organizationId: string;
  kind: UsageKind;
  userId?: string | null;
  apiKeyId?: string | null;
  serverId?: string | null;
  capabilityId?: string | null;
  sessionId?: string | null;
  toolName?: string | null;
  model?: string | null;
  quantity?: number;
  inputTokens?: number;
  outputTokens?: number;
  cachedTokens?: number;
  /** Decimal string (never a float). */
  costUsd?: string;
  durationMs?: number | null;
  success?: boolean;
  metadata?: Record<string, unknown>;
  occurredAt?: Date;
}

export interface UsageRecorderOptions {
  /** How often the buffer is written (one multi-row INSERT). */
  flushIntervalMs: number;
  /**
   * Records held at most. Past it the oldest are dropped (and counted): metering must never
   * make the request path wait for, or run out of memory over, a database that is down.
   */
  maxBuffered: number;
  /** Rows per INSERT. */
  batchSize?: number;
}

/**
 * Usage recording off the request path: `record` appends to an in-memory buffer and returns at
 * once; a timer writes the buffer in multi-row INSERTs. A failed write keeps the records for the
 * next attempt (up to `maxBuffered`). What a process had buffered when it was killed (at most
 * `flushIntervalMs` of records) is lost; `stop` writes everything first. So totals are exact for
 * every process that stops cleanly, and short by at most one interval per crash.
 *
 * A batch is one INSERT … SELECT FROM unnest(…) with one array per column: Prisma's `createMany`
 * bound 19 parameters per row and cost the gateway 70% of its requests per second at 5,000
 * requests/s (bench/usage.bench.ts); the arrays make the statement the same size for any batch.
 */
export class UsageRecorder {
  private buffer: Prisma.UsageEventCreateManyInput[] = [];
  private readonly timer: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();
  private stopped = false;
  /** Records dropped because the buffer was full (the database was unreachable for long). */
  dropped = 0;
  /** Records written since the start. */
  written = 0;

  constructor(
    private readonly db: PrismaClient,
    private readonly logger: Logger,
    private readonly options: UsageRecorderOptions,
  ) {
    this.timer = setInterval(() => void this.flush(), options.flushIntervalMs);
    this.timer.unref();
  }

  /** Buffers one record; never throws, never waits. */
  record(record: UsageRecord): void {
    if (this.stopped) return;
    this.buffer.push(toRow(record));
    if (this.buffer.length > this.options.maxBuffered) {
      const over = this.buffer.length - this.options.maxBuffered;
      this.buffer.splice(0, over);
      this.dropped += over;
    }
  }

  /** Records waiting to be written. */
  get pending(): number {
    return this.buffer.length;
  }

  /** Writes what is buffered; waits for a write already under way. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.write());
    return this.flushing;
  }

  /** Stops the timer and writes everything buffered (one last attempt). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
    this.stopped = true;
  }

  private async write(): Promise<void> {
    const size = this.options.batchSize ?? 1_000;
    while (this.buffer.length > 0) {
      const batch = this.buffer.slice(0, size);
      try {
        await insertUsage(this.db, batch);
      } catch (err) {
        this.logger.warn({ err, pending: this.buffer.length }, "could not write usage events; will retry");
        return;
      }
      // Records dropped while the write ran came off the front, which this batch may include:
      // remove exactly the written rows by identity.
      const written = new Set(batch);
      this.buffer = this.buffer.filter((row) => !written.has(row));
      this.written += batch.length;
    }
  }
}

function toRow(record: UsageRecord): Prisma.UsageEventCreateManyInput {
  return {
    organizationId: record.organizationId,
    kind: record.kind,
    userId: record.userId ?? null,
    apiKeyId: record.apiKeyId ?? null,
    serverId: record.serverId ?? null,
    capabilityId: record.capabilityId ?? null,
    sessionId: record.sessionId ?? null,
    toolName: record.toolName ?? null,
    model: record.model ?? null,
    quantity: record.quantity ?? 1,
    inputTokens: record.inputTokens ?? 0,
    outputTokens: record.outputTokens ?? 0,
    cachedTokens: record.cachedTokens ?? 0,
    costUsd: record.costUsd ?? "0",
    durationMs: record.durationMs === undefined || record.durationMs === null ? null : Math.round(record.durationMs),
    success: record.success ?? true,
    metadata: (record.metadata ?? {}) as Prisma.InputJsonValue,
    occurredAt: record.occurredAt ?? new Date(),
  };
}

/** Writes `rows` in one statement (see `UsageRecorder`). */
async function insertUsage(db: PrismaClient, rows: readonly Prisma.UsageEventCreateManyInput[]): Promise<void> {
  const column = <K extends keyof Prisma.UsageEventCreateManyInput>(key: K) => rows.map((row) => row[key] ?? null);
  await db.$executeRaw`
    INSERT INTO "UsageEvent" (id, "organizationId", kind, "userId", "apiKeyId", "serverId", "capabilityId", "sessionId",
                              "toolName", model, quantity, "inputTokens", "outputTokens", "cachedTokens", "costUsd",
                              "durationMs", success, metadata, "occurredAt")
    SELECT gen_random_uuid(), u.*
      FROM unnest(${column("organizationId")}::uuid[], ${column("kind")}::text[], ${column("userId")}::uuid[],
                  ${column("apiKeyId")}::uuid[], ${column("serverId")}::uuid[], ${column("capabilityId")}::uuid[],
                  ${column("sessionId")}::uuid[], ${column("toolName")}::text[], ${column("model")}::text[],
                  ${column("quantity")}::int[], ${column("inputTokens")}::int[], ${column("outputTokens")}::int[],
                  ${column("cachedTokens")}::int[], ${rows.map((r) => String(r.costUsd ?? "0"))}::numeric[],
                  ${column("durationMs")}::int[], ${column("success")}::boolean[],
                  ${rows.map((r) => JSON.stringify(r.metadata ?? {}))}::jsonb[],
                  ${rows.map((r) => (r.occurredAt instanceof Date ? r.occurredAt : new Date(String(r.occurredAt))))}::timestamptz[]) AS u`;
}
