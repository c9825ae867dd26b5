import { createReadStream } from "node:fs";
import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import type { LookupFunction } from "node:net";
import { extname } from "node:path";
import type { S3Client } from "@aws-sdk/client-s3";
import type { Logger } from "pino";
import { Counter, type Registry } from "prom-client";
import { ConfigError, type S3Config, s3ConfigFrom } from "./config";
import { type OutputKind, type OutputMirror, Outputs } from "./outputs";

/**
 * What the egress guard (`@sprintconnect/mcp`'s `EgressGuard`) offers the S3 client: `check`
 * for the endpoint at boot, `lookup` for every connection the client opens afterwards.
 */
export interface S3Egress {
  check(url: string): Promise<unknown>;
  lookup: LookupFunction;
}

export interface S3MirrorDeps {
  logger: Logger;
  /** Every connection to the endpoint goes through it. */
  egress: S3Egress;
  /** Where `output_uploads_total` is registered (the process's `/metrics`). Default: not counted. */
  registry?: Registry;
}

/** Outcome of one upload attempt, as counted in `output_uploads_total`. */
export type UploadOutcome = "succeeded" | "retried" | "failed";

const CONTENT_TYPES: Record<string, string> = {
  ".json": "application/json; charset=utf-8",
  ".csv": "text/csv; charset=utf-8",
};
/** Largest part `Upload` buffers (it keeps at most QUEUE_SIZE of them): bounds an upload's memory. */
const PART_SIZE = 8 * 1024 * 1024;
const QUEUE_SIZE = 2;
const CONNECT_TIMEOUT_MS = 5_000;
const REQUEST_TIMEOUT_MS = 60_000;

/**
 * Copies committed output files to an S3-compatible bucket, in the background.
 *
 * Files are uploaded once committed, read back from disk, not streamed while they are being
 * written: an export that fails half-way leaves nothing (not even an unfinished multipart
 * upload) in the bucket, an upload can be retried from the start because the file is still
 * there, and a slow or unreachable bucket never holds a user's request. `Upload`
 * (`@aws-sdk/lib-storage`) reads the file in parts, so memory stays bounded (PART_SIZE ×
 * QUEUE_SIZE) whatever its size; a small file is one PutObject.
 *
 * A failed attempt is retried S3_UPLOAD_MAX_ATTEMPTS times with exponential backoff and
 * jitter; then the upload is given up: logged (never the credentials) and counted, the local
 * file untouched. A process that stops before an upload finishes leaves that file local only.
 */
export class S3Mirror implements OutputMirror {
  private readonly pending = new Set<Promise<void>>();
  private readonly uploads: Counter<"kind" | "outcome"> | null;

  private constructor(
    private readonly config: S3Config,
    private readonly client: S3Client,
    private readonly logger: Logger,
    registry: Registry | undefined,
  ) {
    this.uploads = registry
      ? new Counter({
          name: "output_uploads_total",
          help: "Attempts to copy an output file (export, report) to S3, by output kind and outcome",
          labelNames: ["kind", "outcome"] as const,
          registers: [registry],
        })
      : null;
  }

  /**
   * The mirror for `config`, after checking the endpoint against the egress policy: a refused
   * endpoint is a configuration error (the process does not start); a name that does not
   * resolve yet is only a warning, since uploads are retried and re-checked per connection.
   */
  static async create(config: S3Config, deps: S3MirrorDeps): Promise<S3Mirror> {
    for (const url of endpointUrls(config)) {
      try {
        await deps.egress.check(url);
      } catch (error) {
        const details = (error as { extensions?: { details?: { reason?: unknown } } }).extensions?.details;
        if (details?.reason !== "unresolvable") {
          throw new ConfigError([`S3_ENDPOINT: ${(error as Error).message}`]);
        }
        deps.logger.warn({ endpoint: url }, "the S3 endpoint does not resolve yet; uploads will retry");
      }
    }
    // Loaded only when S3 is configured: the SDK is large and most processes never need it.
    const { S3Client } = require("@aws-sdk/client-s3") as typeof import("@aws-sdk/client-s3");
    const agent = { keepAlive: true, lookup: deps.egress.lookup };
    const client = new S3Client({
      endpoint: config.endpoint,
      region: config.region,
      forcePathStyle: config.forcePathStyle,
      credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey },
      // Our retries re-read the file; the SDK's own would only multiply them.
      maxAttempts: 1,
      // Checksums only where S3 requires them: many S3-compatible stores refuse the aws-chunked
      // trailing checksums the SDK otherwise sends with a streamed body.
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
      requestHandler: {
        httpAgent: new HttpAgent(agent),
        httpsAgent: new HttpsAgent(agent),
        connectionTimeout: CONNECT_TIMEOUT_MS,
        requestTimeout: REQUEST_TIMEOUT_MS,
      },
    });
    return new S3Mirror(config, client, deps.logger, deps.registry);
  }

  copy(file: string, key: string, kind: OutputKind): void {
    const upload = this.upload(file, this.objectKey(key), kind).finally(() => this.pending.delete(upload));
    this.pending.add(upload);
  }

  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /**
   * Waits for the uploads in flight (at most `waitMs`, when given: the rest are abandoned,
   * their files local only, and logged), then closes the client's connections.
   */
  async close(waitMs?: number): Promise<void> {
    if (waitMs === undefined) await this.settled();
    else {
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<"expired">((done) => {
        timer = setTimeout(() => done("expired"), waitMs);
      });
      const outcome = await Promise.race([this.settled(), expired]);
      clearTimeout(timer);
      if (outcome === "expired") {
        this.logger.warn(
          { abandoned: this.pending.size },
          "S3 uploads still running at shutdown; their files stay local",
        );
      }
    }
    this.client.destroy();
  }

  /** The object key of an output file: `[S3_PREFIX/]<timestamp>/<kind>/<name>`. */
  objectKey(key: string): string {
    return this.config.prefix ? `${this.config.prefix}/${key}` : key;
  }

  private async upload(file: string, key: string, kind: OutputKind): Promise<void> {
    const { Upload } = require("@aws-sdk/lib-storage") as typeof import("@aws-sdk/lib-storage");
    const { bucket, maxAttempts, retryBaseMs } = this.config;
    for (let attempt = 1; ; attempt++) {
      try {
        await new Upload({
          client: this.client,
          partSize: PART_SIZE,
          queueSize: QUEUE_SIZE,
          leavePartsOnError: false,
          params: {
            Bucket: bucket,
            Key: key,
            Body: createReadStream(file),
            ContentType: CONTENT_TYPES[extname(file)] ?? "application/octet-stream",
          },
        }).done();
        this.count(kind, "succeeded");
        this.logger.debug({ bucket, key, attempt }, "output uploaded to S3");
        return;
      } catch (error) {
        const failure = describe(error);
        if (attempt >= maxAttempts) {
          this.count(kind, "failed");
          this.logger.error(
            { bucket, key, attempts: attempt, failure },
            "S3 upload given up; the file stays in the local outputs",
          );
          return;
        }
        this.count(kind, "retried");
        const delay = retryBaseMs * 4 ** (attempt - 1) * (0.5 + Math.random() / 2);
        this.logger.warn({ bucket, key, attempt, failure, retryInMs: Math.round(delay) }, "S3 upload failed; retrying");
        await new Promise((done) => setTimeout(done, delay).unref());
      }
    }
  }

  private count(kind: OutputKind, outcome: UploadOutcome): void {
    this.uploads?.inc({ kind, outcome });
  }
}

/**
 * The process's `Outputs`: files under OUTPUTS_DIR, and also uploaded to S3 when S3_BUCKET is
 * set (the endpoint checked against the egress policy first: a refused one throws ConfigError).
 */
export async function createOutputs(
  env: Parameters<typeof s3ConfigFrom>[0] & { OUTPUTS_DIR: string },
  deps: S3MirrorDeps,
): Promise<Outputs> {
  const config = s3ConfigFrom(env);
  const mirror = config ? await S3Mirror.create(config, deps) : null;
  return new Outputs(env.OUTPUTS_DIR, new Date(), { mirror });
}

/**
 * The URLs the client connects to: the endpoint, and for virtual-hosted addressing the
 * bucket's own host name below it (an IP endpoint is always addressed by path).
 */
function endpointUrls(config: S3Config): string[] {
  const url = new URL(config.endpoint);
  if (config.forcePathStyle || /^[0-9.]+$|^\[/.test(url.hostname)) return [url.href];
  const bucketUrl = new URL(url.href);
  bucketUrl.hostname = `${config.bucket}.${url.hostname}`;
  return [url.href, bucketUrl.href];
}

/**
 * What a log line says about a failed upload: the error's name, S3 code, HTTP status and
 * message. Not the error itself: SDK errors carry the raw response and request metadata.
 */
function describe(error: unknown): Record<string, unknown> {
  const e = error as {
    name?: unknown;
    Code?: unknown;
    code?: unknown;
    message?: unknown;
    $metadata?: { httpStatusCode?: unknown };
  };
  return {
    name: e.name,
    code: e.Code ?? e.code,
    status: e.$metadata?.httpStatusCode,
    message: typeof e.message === "string" ? e.message.slice(0, 500) : undefined,
  };
}
