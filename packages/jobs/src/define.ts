import type { z } from "zod";

/** A kind of job: its queue name and the schema of its payload. */
export interface JobDefinition<S extends z.ZodType = z.ZodType> {
  name: string;
  schema: S;
  /** Retries after the first attempt, with exponential backoff from `backoffMs`. */
  retries: number;
  backoffMs: number;
  /** An attempt that runs longer than this fails (and may be retried). */
  timeoutMs: number;
  /**
   * The group a job belongs to (e.g. its organization). Where the queues have a group cap
   * (`QueueOptions.groupConcurrency`), at most that many jobs of one group run at once across
   * all workers; the others wait in the queue without using a retry or a worker slot.
   */
  group?: (payload: z.infer<S>) => string;
}

export type JobPayload<D extends JobDefinition> = z.infer<D["schema"]>;

/** Declares a job once; producers and consumers share the definition. */
export function defineJob<S extends z.ZodType>(
  definition: Pick<JobDefinition<S>, "name" | "schema"> & Partial<JobDefinition<S>>,
): JobDefinition<S> {
  return { retries: 2, backoffMs: 2_000, timeoutMs: 120_000, ...definition };
}

/** A payload that does not match its job's schema: a bug in the producer, never retried. */
export class InvalidJobPayloadError extends Error {
  constructor(job: string, issues: string) {
    super(`Invalid payload for job ${job}: ${issues}`);
    this.name = "InvalidJobPayloadError";
  }
}

export function parsePayload<D extends JobDefinition>(definition: D, data: unknown): JobPayload<D> {
  const result = definition.schema.safeParse(data);
  if (!result.success) {
    throw new InvalidJobPayloadError(
      definition.name,
      result.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "),
    );
  }
  return result.data as JobPayload<D>;
}
