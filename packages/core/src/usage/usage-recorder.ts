import { Prisma } from "@prisma/client";
import type { PrismaClient } from "../db/prisma";
import type { Logger } from "../logger";
import { LATENCY_BUCKETS_MS } from "./rollup";

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
 * Identical records of one second fold into one row (`quantity`), so a busy client's thousands
 * of requests a second cost PostgreSQL a handful of rows; every reader counts uses as the sum of
 * `quantity` (docs/ARCHITECTURE.md, Usage metering).
 */
export class UsageRecorder {
  /** Folded records by identity, oldest first (a Map keeps insertion order). */
  private buffer = new Map<string, Folded>();
  private readonly timer: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();
  private stopped = false;
  /** Records dropped because the buffer was full (the database was unreachable for long). */
  dropped = 0;
  /** Rows written since the start (each standing for `quantity` uses). */
  written = 0;

  constructor(
    private readonly db: PrismaClient,
    private readonly logger: Logger,
    private readonly options: UsageRecorderOptions,
  ) {
    this.timer = setInterval(() => void this.flush(), options.flushIntervalMs);
    this.timer.unref();
  }

  /**
   * Buffers one record; never throws, never waits. Records that differ only in when (within the
   * same second) and how long (within the same latency bucket) fold into one row whose
   * `quantity` counts them, tokens and cost summed, duration their mean.
   */
  record(record: UsageRecord): void {
    if (this.stopped) return;
    this.add(toRow(record), record.quantity ?? 1, record.durationMs ?? null);
  }

  /** Rows waiting to be written. */
  get pending(): number {
    return this.buffer.size;
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

  private add(row: Prisma.UsageEventCreateManyInput, quantity: number, durationMs: number | null): void {
    const key = foldKey(row, durationMs);
    const folded = this.buffer.get(key);
    if (folded) {
      folded.quantity += quantity;
      folded.inputTokens += row.inputTokens ?? 0;
      folded.outputTokens += row.outputTokens ?? 0;
      folded.cachedTokens += row.cachedTokens ?? 0;
      // Most records (every API request) have no cost: no Decimal arithmetic for them.
      if (row.costUsd && row.costUsd !== "0") folded.cost = folded.cost.plus(String(row.costUsd));
      if (durationMs !== null) folded.durationSum += durationMs * quantity;
      return;
    }
    this.buffer.set(key, {
      row,
      quantity,
      inputTokens: row.inputTokens ?? 0,
      outputTokens: row.outputTokens ?? 0,
      cachedTokens: row.cachedTokens ?? 0,
      cost: new Prisma.Decimal(String(row.costUsd ?? "0")),
      durationSum: durationMs === null ? 0 : durationMs * quantity,
    });
    if (this.buffer.size > this.options.maxBuffered) {
      const oldest = this.buffer.keys().next().value;
      if (oldest !== undefined) this.buffer.delete(oldest);
      this.dropped += 1;
    }
  }

  private async write(): Promise<void> {
    if (this.buffer.size === 0) return;
    // Records that arrive while this write runs fold into a new buffer.
    const pending = [...this.buffer.values()];
    this.buffer = new Map();
    const size = this.options.batchSize ?? 1_000;
    for (let at = 0; at < pending.length; at += size) {
      const batch = pending.slice(at, at + size);
      try {
        await insertUsage(this.db, batch.map(toInsert));
        this.written += batch.length;
      } catch (err) {
        this.logger.warn({ err, pending: pending.length - at }, "could not write usage events; will retry");
        // Back in front of what arrived meanwhile, for the next attempt.
        const later = this.buffer;
        this.buffer = new Map();
        for (const f of pending.slice(at)) this.add(toInsert(f), f.quantity, meanDuration(f));
        for (const f of later.values()) this.add(toInsert(f), f.quantity, meanDuration(f));
        return;
      }
    }
  }
}

/** Records folded into one row. */
interface Folded {
  row: Prisma.UsageEventCreateManyInput;
  quantity: number;
  inputTokens: number;
  outputTokens: number;
  cachedTokens: number;
  cost: Prisma.Decimal;
  /** Sum of the folded records' durations (ms); meaningful when the row has one. */
  durationSum: number;
}

function meanDuration(f: Folded): number | null {
  return f.row.durationMs === null || f.row.durationMs === undefined ? null : f.durationSum / f.quantity;
}

function toInsert(f: Folded): Prisma.UsageEventCreateManyInput {
  const mean = meanDuration(f);
  return {
    ...f.row,
    quantity: f.quantity,
    inputTokens: f.inputTokens,
    outputTokens: f.outputTokens,
    cachedTokens: f.cachedTokens,
    costUsd: f.cost.toFixed(),
    durationMs: mean === null ? null : Math.round(mean),
  };
}

/** Records with the same key fold: everything but counts, tokens, cost, and time within the second and latency bucket. */
function foldKey(row: Prisma.UsageEventCreateManyInput, durationMs: number | null): string {
  const second = Math.floor(new Date(row.occurredAt ?? Date.now()).getTime() / 1000);
  return JSON.stringify([
    row.organizationId,
    row.kind,
    row.userId,
    row.apiKeyId,
    row.serverId,
    row.capabilityId,
    row.sessionId,
    row.toolName,
    row.model,
    row.success,
    row.metadata,
    durationMs === null ? null : latencyBucket(durationMs),
    second,
  ]);
}

/** The index of the `LATENCY_BUCKETS_MS` bucket of a duration (the last, open one above every bound). */
export function latencyBucket(durationMs: number): number {
  const index = LATENCY_BUCKETS_MS.findIndex((upper) => durationMs <= upper);
  return index === -1 ? LATENCY_BUCKETS_MS.length : index;
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
