import { z } from "zod";
import { loadDevSecret, loadDevSecrets } from "./dev-secrets";

/**
 * Configuration. Every process validates its environment once, at boot, with the zod schema
 * for that process, reports every invalid variable at once and exits. Nothing else in the
 * code base reads `process.env`. The variable names are those of the seed document.
 */

const bool = z
  .enum(["true", "false", "1", "0", "yes", "no"])
  .transform((v) => v === "true" || v === "1" || v === "yes");
const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();
const postgresUrl = z.string().regex(/^postgres(ql)?:\/\//, "must be a postgresql:// URL");
const csv = z.string().transform((v) =>
  v
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean),
);

// --- traces (issue 10) ---
/**
 * OpenTelemetry. Read at boot by each process's instrumentation entry, before anything else is
 * loaded (`startTracingFromEnv`), and validated with the rest by every process's schema.
 */
const telemetryShape = {
  /**
   * OTLP/HTTP endpoint traces are sent to (JSON, `<endpoint>/v1/traces`), e.g.
   * `http://jaeger:4318`. Unset (the default): tracing is off and no OpenTelemetry module is loaded.
   */
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
  /** `service.name` of this process's spans. Default: `sprintconnect-<process>` (gateway, registry, worker, …). */
  OTEL_SERVICE_NAME: z.string().min(1).optional(),
  /** Milliseconds between two exports of finished spans (they are batched). */
  OTEL_BSP_SCHEDULE_DELAY: positiveInt.default(5000),
};

/** The telemetry variables alone: all the instrumentation entry may parse before the SDK starts. */
export const telemetryEnvSchema = z.object(telemetryShape);
// --- end traces ---

/** Variables every process reads. */
const commonShape = {
  /** Deployment environment. `production` disables introspection, Sandbox and dev keys. */
  APP_ENV: z.enum(["development", "staging", "production"]).default("development"),
  /** Debug logging: the default LOG_LEVEL becomes `debug`. Stack traces never reach clients. */
  DEBUG: bool.default(false),
  /** pino level: fatal, error, warn, info, debug, trace or silent (case-insensitive). Default `info`. */
  LOG_LEVEL: z
    .string()
    .transform((v) => v.toLowerCase())
    .pipe(z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]))
    .optional(),
  /** Log format. Only structured JSON lines are produced. */
  LOG_FORMAT: z.enum(["json"]).default("json"),
  /**
   * PostgreSQL connection string of the database's owner. `db migrate` (and `npm start`) apply
   * migrations with it and create or update the application role and its grants; the
   * processes themselves connect as the application role (APP_DATABASE_URL).
   */
  DATABASE_URL: postgresUrl.default("postgresql://postgres@127.0.0.1:5432/sprintconnect"),
  /**
   * Connection string the gateway, subgraphs, worker, scheduler and CLI commands use: a role
   * with only the grants the application needs (no DDL, not the owner; `AuditLog` and
   * `AuditAnchor` insert-only). Default: DATABASE_URL with the user `<database>_app` and the
   * password APP_DATABASE_PASSWORD. `db migrate` creates the role if it is missing, sets its
   * password from this URL and grants it, after every migration.
   */
  APP_DATABASE_URL: postgresUrl.optional(),
  /**
   * Password of the application role when APP_DATABASE_URL is not given. Required in
   * production unless APP_DATABASE_URL is set; generated into `.sprintconnect/` elsewhere.
   */
  APP_DATABASE_PASSWORD: z.string().min(16).optional(),
  /** Connections each process keeps open to PostgreSQL. */
  DATABASE_POOL_SIZE: positiveInt.default(20),
  /** Extra connections a process may open above the pool size under load; closed when idle. */
  DATABASE_MAX_OVERFLOW: z.coerce.number().int().min(0).default(10),
  /** Redis connection string (rate limits, pub/sub, queues, locks). */
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, "must be a redis:// URL")
    .default("redis://127.0.0.1:6379/0"),
  /**
   * ES256 private key that signs our JWTs and the internal gateway-to-subgraph tokens, as a
   * JWK (JSON) or PKCS#8 PEM. Required in production; generated into `.sprintconnect/` (git
   * ignored) on first start elsewhere.
   */
  JWT_SECRET_KEY: z.string().optional(),
  /** `iss` of the JWTs we issue. */
  JWT_ISSUER: z.string().default("sprintconnect"),
  /** Lifetime of access tokens we issue, in seconds. */
  JWT_ACCESS_TOKEN_TTL_SECONDS: positiveInt.default(900),
  // --- OIDC login (issue 9) ---
  /**
   * Lifetime of a login's refresh tokens, in seconds, counted from the login: rotation never
   * extends it. Default 30 days.
   */
  JWT_REFRESH_TOKEN_TTL_SECONDS: positiveInt.default(2_592_000),
  // --- end OIDC login ---
  /**
   * Key (at least 32 characters) for the HMAC that stores API keys hashed. Required in
   * production; generated into `.sprintconnect/` elsewhere. Changing it invalidates all keys.
   */
  API_KEY_ENCRYPTION_KEY: z.string().min(32).optional(),
  /**
   * AES-256 key (base64, 32 bytes) of the `local` secret store, which keeps MCP server
   * credentials encrypted in PostgreSQL. Required in production; generated elsewhere.
   */
  SECRET_STORE_LOCAL_KEY: z.string().optional(),
  // ---- Secret store: local or Vault (issue 9) ----
  /**
   * Where MCP server credentials (and other stored secrets) live: `local` (AES-256-GCM under
   * SECRET_STORE_LOCAL_KEY, ciphertext in PostgreSQL) or `vault` (HashiCorp Vault, KV v2 engine
   * mounted at `secret`, paths `secret/sprintconnect/...`). `secrets migrate --to vault` copies
   * the local store's secrets into Vault.
   */
  SECRET_STORE: z.enum(["local", "vault"]).default("local"),
  /**
   * Vault's address, e.g. `https://vault.internal:8200`. Used when SECRET_STORE=vault (and by
   * `secrets migrate`); outside production it defaults to the dev-mode Vault of
   * docker-compose.yml, `http://127.0.0.1:8200`; production requires it (use `https://`
   * anywhere but a private network: the token travels with every request).
   */
  VAULT_ADDR: z.url().optional(),
  /** Vault token sent as `X-Vault-Token`. Required when SECRET_STORE=vault; never logged. */
  VAULT_TOKEN: z.string().min(1).optional(),
  /** Vault Enterprise namespace, sent as `X-Vault-Namespace`. Unset: none. */
  VAULT_NAMESPACE: z.string().min(1).optional(),
  // ---- end secret store ----
  /**
   * Hosts that outbound connections (MCP servers, webhooks, LLM providers) may reach: host
   * names, `*.suffix` wildcards, IP addresses and CIDRs, comma-separated. `*` admits any public
   * host. Private, loopback, link-local, unique-local and metadata addresses are refused unless
   * an entry names them explicitly (e.g. `127.0.0.1` or `10.0.0.0/8`).
   */
  ALLOWED_EGRESS_HOSTS: csv.default(["*"]),
  /** Redis key prefix of the job queues (to run several deployments on one Redis). */
  JOB_QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:_-]{1,64}$/, "letters, digits, : _ -")
    .default("sc:bq"),
  /** Where this checkout keeps generated development keys. */
  DEV_SECRETS_DIR: z.string().default(".sprintconnect"),
  /**
   * Bearer token (32+ characters) that `/metrics` and `/health/detailed` require, on the
   * gateway and the worker. Unset: those endpoints are open in development and not served
   * (404) in staging and production.
   */
  METRICS_TOKEN: z.string().min(32).optional(),
  /**
   * Usage metering (API requests, discovery searches and runs, health checks): each process
   * buffers its usage events and writes them every USAGE_FLUSH_INTERVAL_MS. Off only to
   * measure what metering costs (bench/); chat turns record their usage either way.
   */
  USAGE_RECORDING: bool.default(true),
  USAGE_FLUSH_INTERVAL_MS: positiveInt.default(1000),
  /** Usage events a process holds while the database is unreachable; older ones are dropped past it. */
  USAGE_MAX_BUFFERED: positiveInt.default(100_000),
  // --- S3 exports (issue 10) ---
  /**
   * S3-compatible storage that every file written under OUTPUTS_DIR is also uploaded to, under
   * the same relative key (`[S3_PREFIX/]<timestamp>/<kind>/<name>`). Setting S3_BUCKET turns it
   * on; S3_ENDPOINT, S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY are then required (all or
   * nothing). The endpoint is an outbound connection like any other: ALLOWED_EGRESS_HOSTS must
   * admit it (checked at boot, and for a host name again at every connection). Must be https://
   * in production.
   */
  S3_ENDPOINT: z.url().optional(),
  /** Bucket the outputs are uploaded to; it must exist. Unset: no uploads. */
  S3_BUCKET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "must be an S3 bucket name (3-63 lower-case letters, digits, . -)")
    .optional(),
  /** Access key id of the uploads. Never logged. */
  S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  /** Secret access key of the uploads. Never logged. */
  S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  /** Signing region (most S3-compatible stores accept any; AWS needs the bucket's). */
  S3_REGION: z.string().min(1).default("us-east-1"),
  /** Address the bucket in the path (`endpoint/bucket/key`), as MinIO and most S3-compatible stores need, not as a subdomain. */
  S3_FORCE_PATH_STYLE: bool.default(false),
  /** Key prefix of every upload (no leading or trailing slash needed). Default: none. */
  S3_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9!_.*'()/-]{0,256}$/, "letters, digits and ! _ . * ' ( ) / -")
    .transform((v) => v.replace(/^\/+|\/+$/g, ""))
    .optional(),
  /** Attempts of one upload before it is given up (the local file stays; counted and logged). */
  S3_UPLOAD_MAX_ATTEMPTS: positiveInt.max(20).default(5),
  /** Delay before the second attempt of an upload; each further one is 4 times longer, with jitter. */
  S3_UPLOAD_RETRY_BASE_MS: positiveInt.default(1000),
  // --- end S3 exports ---
  // --- traces (issue 10) ---
  ...telemetryShape,
  // --- end traces ---
};

const subgraphUrls = {
  /** URL of the registry subgraph's GraphQL endpoint, as the gateway reaches it. */
  REGISTRY_SUBGRAPH_URL: z.url().default("http://127.0.0.1:4001/graphql"),
  /** URL of the chat subgraph. */
  CHAT_SUBGRAPH_URL: z.url().default("http://127.0.0.1:4002/graphql"),
  /** URL of the metrics subgraph. */
  METRICS_SUBGRAPH_URL: z.url().default("http://127.0.0.1:4003/graphql"),
  /** URL of the admin subgraph. */
  ADMIN_SUBGRAPH_URL: z.url().default("http://127.0.0.1:4004/graphql"),
};

const gatewayShape = {
  ...commonShape,
  ...subgraphUrls,
  /** Port of the gateway, the one public entry. */
  GATEWAY_PORT: port.default(4000),
  /** Interface every HTTP process listens on. */
  HOST: z.string().default("127.0.0.1"),
  /** Requests per minute for each user or API key (and each IP when unauthenticated). */
  RATE_LIMIT_REQUESTS_PER_MINUTE: positiveInt.default(60),
  /**
   * Extra requests a user or key may make above the per-minute rate in a short burst; the
   * burst allowance refills over RATE_LIMIT_BURST_WINDOW_SECONDS.
   */
  RATE_LIMIT_BURST_SIZE: z.coerce.number().int().min(0).default(100),
  /** Window over which the burst allowance refills. */
  RATE_LIMIT_BURST_WINDOW_SECONDS: positiveInt.default(600),
  /** Requests per minute for a whole organization, all its users and keys together. */
  RATE_LIMIT_ORG_REQUESTS_PER_MINUTE: positiveInt.default(600),
  /** Requests per UTC day for a whole organization. */
  QUOTA_REQUESTS_PER_DAY: positiveInt.default(10000),
  /**
   * Failed authentications (a wrong, expired or revoked API key or token) per client IP per
   * minute. Past it, every request from that IP that carries credentials is refused with
   * RATE_LIMITED before the credentials are hashed or looked up, until the minute ends.
   */
  RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: positiveInt.default(30),
  /**
   * Seconds the gateway keeps an authenticated credential (API key → principal, token → role)
   * in memory. Revocations, removals and role changes made through the API reach every gateway
   * at once (Redis pub/sub and an epoch read with the rate limits); this bounds only what
   * bypasses them: a change written to the database behind the API's back, or an invalidation
   * lost while a subscription connection has no other traffic. 0 turns the cache off.
   */
  AUTH_CACHE_TTL_SECONDS: z.coerce.number().int().min(0).max(300).default(10),
  /** Most credentials the authentication cache holds (the oldest are dropped first). */
  AUTH_CACHE_MAX_ENTRIES: positiveInt.default(10_000),
  /**
   * Seconds between the gateway's batched writes of API keys' `lastUsedAt` (one UPDATE for
   * every key used since the last one; also written when the gateway stops). `lastUsedAt` lags
   * the key's real last use by at most this much.
   */
  API_KEY_LAST_USED_FLUSH_SECONDS: positiveInt.default(30),
  /** Origins allowed by CORS (comma-separated). Empty: no cross-origin browser access. */
  CORS_ORIGINS: csv.default([]),
  /** Largest request body accepted, in bytes. */
  MAX_BODY_BYTES: positiveInt.default(1_048_576),
  /** How long SIGTERM waits for in-flight requests before closing anyway. */
  SHUTDOWN_TIMEOUT_SECONDS: positiveInt.default(10),
  /** Where discovery results, health reports and chat exports are written. Relative: to the checkout. */
  OUTPUTS_DIR: z.string().default("outputs"),
};

/** Chat limits the API enforces and the worker's event log shares. */
const chatShape = {
  /** Longest user message, in characters (VALIDATION_FAILED beyond). */
  CHAT_MAX_MESSAGE_CHARS: positiveInt.default(32_000),
  /** Turns an organization may have queued or running at once (RATE_LIMITED beyond). */
  CHAT_MAX_CONCURRENT_TURNS_PER_ORG: positiveInt.default(10),
  /** Chat events kept per session for clients that reconnect with `after`. */
  CHAT_EVENT_LOG_SIZE: positiveInt.default(2_000),
  /** Seconds an idle session's event log is kept. */
  CHAT_EVENT_LOG_TTL_SECONDS: positiveInt.default(86_400),
};

// --- OIDC login (issue 9) ---
/** The OIDC provider `POST /auth/token` exchanges authorization codes at (the admin subgraph). */
const oidcShape = {
  /**
   * The provider's discovery document (`…/.well-known/openid-configuration`). Unset: OIDC
   * login is off (`/auth/token` answers SERVICE_UNAVAILABLE). Must be https:// in production;
   * http:// (a provider on loopback) is accepted in development and staging only.
   */
  OIDC_DISCOVERY_URL: z.url().optional(),
  /** Our client id at the provider. Required with OIDC_DISCOVERY_URL. */
  OIDC_CLIENT_ID: z.string().min(1).optional(),
  /** Our client secret at the provider (client_secret_basic). Unset: a public client (PKCE only). Never logged. */
  OIDC_CLIENT_SECRET: z.string().min(1).optional(),
  /**
   * Redirect URIs a login may name (comma-separated, compared exactly). Empty: any URI the
   * provider accepts for our client.
   */
  OIDC_REDIRECT_URIS: csv.default([]),
  /** Seconds of clock difference with the provider tolerated when checking the ID token's times. */
  OIDC_CLOCK_TOLERANCE_SECONDS: z.coerce.number().int().min(0).max(300).default(30),
};

/** OIDC settings that only make sense together, and the production rule for http:// issuers. */
function checkOidc(
  env: { APP_ENV: string; OIDC_DISCOVERY_URL?: string | undefined; OIDC_CLIENT_ID?: string | undefined },
  ctx: z.RefinementCtx,
): void {
  if (!env.OIDC_DISCOVERY_URL) return;
  if (!env.OIDC_CLIENT_ID) {
    ctx.addIssue({ code: "custom", path: ["OIDC_CLIENT_ID"], message: "required with OIDC_DISCOVERY_URL" });
  }
  const protocol = new URL(env.OIDC_DISCOVERY_URL).protocol;
  if (protocol !== "https:" && (env.APP_ENV === "production" || protocol !== "http:")) {
    ctx.addIssue({
      code: "custom",
      path: ["OIDC_DISCOVERY_URL"],
      message: env.APP_ENV === "production" ? "must be https:// in production" : "must be an http(s):// URL",
    });
  }
}
// --- end OIDC login ---

// --- S3 exports (issue 10) ---
type S3Vars = {
  APP_ENV: string;
  S3_ENDPOINT?: string | undefined;
  S3_BUCKET?: string | undefined;
  S3_ACCESS_KEY_ID?: string | undefined;
  S3_SECRET_ACCESS_KEY?: string | undefined;
};

/** S3 settings are all or nothing: any of them without the bucket, or the bucket without the rest, is refused. */
function checkS3(env: S3Vars, ctx: z.RefinementCtx): void {
  const required = ["S3_BUCKET", "S3_ENDPOINT", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY"] as const;
  const given = required.filter((key) => env[key] !== undefined);
  if (given.length > 0 && given.length < required.length) {
    for (const key of required) {
      if (env[key] === undefined) {
        ctx.addIssue({
          code: "custom",
          path: [key],
          message: `required with ${given.join(", ")} (S3 exports need S3_BUCKET, S3_ENDPOINT, S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY together)`,
        });
      }
    }
  }
  if (!env.S3_ENDPOINT) return;
  const url = new URL(env.S3_ENDPOINT);
  if (url.username || url.password) {
    ctx.addIssue({
      code: "custom",
      path: ["S3_ENDPOINT"],
      message: "must not carry a user name or password (use S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY)",
    });
  }
  if (url.protocol !== "https:" && (env.APP_ENV === "production" || url.protocol !== "http:")) {
    ctx.addIssue({
      code: "custom",
      path: ["S3_ENDPOINT"],
      message: env.APP_ENV === "production" ? "must be https:// in production" : "must be an http(s):// URL",
    });
  }
}

/** The S3 upload settings, or null when S3 exports are off. */
export interface S3Config {
  endpoint: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  forcePathStyle: boolean;
  prefix: string;
  maxAttempts: number;
  retryBaseMs: number;
}

/** The S3 settings of a parsed environment (any process), or null when S3_BUCKET is unset. */
export function s3ConfigFrom(env: Pick<CommonEnv, S3Key>): S3Config | null {
  if (!env.S3_BUCKET || !env.S3_ENDPOINT || !env.S3_ACCESS_KEY_ID || !env.S3_SECRET_ACCESS_KEY) return null;
  return {
    endpoint: env.S3_ENDPOINT,
    bucket: env.S3_BUCKET,
    accessKeyId: env.S3_ACCESS_KEY_ID,
    secretAccessKey: env.S3_SECRET_ACCESS_KEY,
    region: env.S3_REGION,
    forcePathStyle: env.S3_FORCE_PATH_STYLE,
    prefix: env.S3_PREFIX ?? "",
    maxAttempts: env.S3_UPLOAD_MAX_ATTEMPTS,
    retryBaseMs: env.S3_UPLOAD_RETRY_BASE_MS,
  };
}
type S3Key = Extract<keyof typeof commonShape, `S3_${string}`>;
// --- end S3 exports ---

const subgraphShape = {
  ...commonShape,
  ...chatShape,
  ...oidcShape,
  HOST: gatewayShape.HOST,
  /**
   * Live (not deregistered) MCP servers one organization may register; one more is refused
   * with `LIMIT_EXCEEDED`. Bounds what one tenant can make the workers discover and check.
   */
  MAX_SERVERS_PER_ORGANIZATION: positiveInt.default(500),
  /**
   * Seconds the registry keeps an organization's access policies read under one access epoch
   * (`policy/access-epoch.ts`). Changes made through the API apply to the next request through
   * the gateway on every instance whatever this is (the gateway hands over the new epoch); this
   * bounds only what bypasses the epoch: a policy row changed behind the API's back, or a change
   * whose announcement could not reach Redis. 0 turns the cache off (every request reads).
   */
  POLICY_CACHE_TTL_SECONDS: z.coerce.number().int().min(0).max(300).default(10),
  /** Port of this subgraph; each subgraph process has its own default (4001–4004). */
  PORT: port.optional(),
  SHUTDOWN_TIMEOUT_SECONDS: gatewayShape.SHUTDOWN_TIMEOUT_SECONDS,
};

const workerShape = {
  ...commonShape,
  ...chatShape,
  /** Chat turns one worker runs at once. */
  WORKER_CHAT_CONCURRENCY: positiveInt.default(8),
  /** Tool calls the agent may make in one turn; further calls are refused and the model answers. */
  CHAT_MAX_TOOL_CALLS_PER_TURN: positiveInt.default(10),
  /** A turn running longer than this is stopped (its partial answer kept) and reported with an `error` event. */
  CHAT_TURN_TIMEOUT_SECONDS: positiveInt.default(300),
  /** Timeout of one MCP tool call (connect and call). */
  CHAT_TOOL_TIMEOUT_SECONDS: positiveInt.default(30),
  /** Characters of a tool result that are stored and passed to the model; the rest is cut. */
  CHAT_TOOL_RESULT_MAX_CHARS: positiveInt.default(16_000),
  /** Seconds a tool call waits for a person's approval before it is denied. */
  CHAT_APPROVAL_TIMEOUT_SECONDS: positiveInt.default(600),
  /**
   * The chat model's provider: `local` (a deterministic offline model, no key needed), `openai`,
   * `anthropic` or `azure` (Azure OpenAI).
   */
  LLM_PROVIDER: z.enum(["local", "openai", "anthropic", "azure"]).default("local"),
  /** Model name (a deployment's model for Azure). Default per provider: `local`, `gpt-4o-mini`, `claude-3-5-haiku-latest`. */
  LLM_MODEL: z.string().min(1).optional(),
  /** API key of the provider. Required for every provider but `local`; never logged. */
  LLM_API_KEY: z.string().min(1).optional(),
  /** Base URL of the provider's API (a proxy, or a local server in tests). Default: the provider's own. */
  LLM_BASE_URL: z.url().optional(),
  /** Azure OpenAI: the resource endpoint, e.g. `https://<resource>.openai.azure.com`. */
  AZURE_OPENAI_ENDPOINT: z.url().optional(),
  /** Azure OpenAI: the deployment name. */
  AZURE_OPENAI_DEPLOYMENT: z.string().min(1).optional(),
  /** Azure OpenAI: the API version. */
  AZURE_OPENAI_API_VERSION: z.string().min(1).default("2024-10-21"),
  /**
   * A JSON file with the agent's system prompt, approval rules and model prices (see README,
   * "Chat agent configuration"). Default: built-in prompt, no extra approval rules, prices 0.
   */
  LANGGRAPH_CONFIG_PATH: z.string().min(1).optional(),
  /** Seconds between health checks of each active server. */
  HEALTH_CHECK_INTERVAL_SECONDS: positiveInt.default(60),
  /** A check that takes longer than this is a failure. */
  HEALTH_CHECK_TIMEOUT_SECONDS: positiveInt.default(10),
  /** Consecutive results needed before a server's health state changes. */
  HEALTH_CHECK_FAILURE_THRESHOLD: positiveInt.default(3),
  /** A successful check slower than this counts as `degraded`. */
  HEALTH_CHECK_DEGRADED_LATENCY_MS: positiveInt.default(2000),
  /** Seconds between scheduled discoveries of each active server. */
  DISCOVERY_INTERVAL_SECONDS: positiveInt.default(3600),
  /** Timeout of each request a discovery makes. */
  DISCOVERY_TIMEOUT_SECONDS: positiveInt.default(30),
  /** Capabilities (all kinds together) one discovery run may list; more fails the run. */
  DISCOVERY_MAX_CAPABILITIES: positiveInt.default(5000),
  /** Response bytes one discovery run may read across all its requests; more fails the run. */
  DISCOVERY_MAX_BYTES: positiveInt.default(50 * 1024 * 1024),
  /** Wall time of one discovery run, connection included; a slower run fails. */
  DISCOVERY_MAX_SECONDS: positiveInt.default(120),
  /** Discovery jobs one worker runs at once. */
  WORKER_DISCOVERY_CONCURRENCY: positiveInt.default(4),
  /** Health-check jobs one worker runs at once. */
  WORKER_HEALTH_CONCURRENCY: positiveInt.default(16),
  /**
   * Discovery jobs of one organization running at once across all workers (counted in Redis).
   * A job over the cap waits in the queue without using a retry or a worker slot, so one
   * tenant's slow servers cannot hold every slot while other organizations wait.
   */
  WORKER_ORG_CONCURRENCY: positiveInt.default(2),
  /** A job whose worker has not renewed its lock for this long is re-queued (worker crash). */
  WORKER_STALL_INTERVAL_MS: positiveInt.default(5000),
  /**
   * How often the outbox relay looks for unpublished events when nothing woke it. Committed
   * events wake it at once (LISTEN/NOTIFY); this sweep is only the fallback.
   */
  OUTBOX_POLL_INTERVAL_MS: positiveInt.default(5000),
  OUTPUTS_DIR: gatewayShape.OUTPUTS_DIR,
  /** Raw health check results older than this many days are deleted (the state stays). */
  RETENTION_HEALTH_CHECKS_DAYS: positiveInt.default(7),
  /** Published outbox events older than this many days are deleted. */
  RETENTION_EVENTS_DAYS: positiveInt.default(7),
  /** Raw usage events older than this many days are deleted once rolled up (the hourly and daily totals stay). */
  RETENTION_USAGE_EVENTS_DAYS: positiveInt.default(90),
  /** How often the scheduler rolls finished hours of usage events into UsageRollup. */
  USAGE_ROLLUP_INTERVAL_SECONDS: positiveInt.default(300),
  /** How often the scheduler compares month-to-date usage with the budgets (and so how soon a hard limit applies). */
  BUDGET_CHECK_INTERVAL_SECONDS: positiveInt.default(60),
  // --- webhooks (issue 10) ---
  /** Webhook deliveries one worker attempts at once. */
  WORKER_WEBHOOK_CONCURRENCY: positiveInt.default(16),
  /** Time limit of one delivery attempt (connect, send, response), in milliseconds. */
  WEBHOOK_TIMEOUT_MS: positiveInt.default(10_000),
  /** Largest webhook response body read; a larger one fails the attempt (the first KiB is logged). */
  WEBHOOK_RESPONSE_MAX_BYTES: positiveInt.default(64 * 1024),
  /** Attempts of one delivery before it is given up as `failed` (manual redelivery still works). */
  WEBHOOK_MAX_ATTEMPTS: positiveInt.default(8),
  /** Delay before the second attempt; each further one doubles it, with jitter, up to WEBHOOK_RETRY_MAX_MS. */
  WEBHOOK_RETRY_BASE_MS: positiveInt.default(30_000),
  /** Longest delay between two attempts of a delivery. */
  WEBHOOK_RETRY_MAX_MS: positiveInt.default(3_600_000),
  /** Failed attempts in a row (across deliveries) after which a webhook is disabled, with a `webhook.disabled` event. */
  WEBHOOK_MAX_CONSECUTIVE_FAILURES: positiveInt.default(20),
  /**
   * How often a worker looks for deliveries that are due but not queued (a worker died between
   * committing a delivery and queueing it, or mid-attempt): the fallback that loses none.
   */
  WEBHOOK_SWEEP_INTERVAL_MS: positiveInt.default(10_000),
  // --- end webhooks ---
  /** Port of the worker's Prometheus `/metrics` (job times, queue depths, outbox lag) and `/health`. */
  PROMETHEUS_METRICS_PORT: port.default(9090),
  /** Port of the scheduler's `/health`, for container health checks. Unset: not served. */
  SCHEDULER_HEALTH_PORT: port.optional(),
  /** Interface the worker's metrics endpoint listens on. */
  HOST: gatewayShape.HOST,
  /**
   * Seconds between anchors of the audit chains: the scheduler's leader signs and stores the
   * head of every organization's audit log that grew, so cutting off its newest entries is
   * detected by `audit verify`.
   */
  AUDIT_ANCHOR_INTERVAL_SECONDS: positiveInt.default(300),
  /** How long the scheduler's leadership lasts without renewal. */
  SCHEDULER_LOCK_TTL_SECONDS: positiveInt.default(15),
  SHUTDOWN_TIMEOUT_SECONDS: gatewayShape.SHUTDOWN_TIMEOUT_SECONDS,
};

/** LOG_LEVEL, when not given, follows DEBUG. */
function withLogLevel<T extends { DEBUG: boolean; LOG_LEVEL?: string | undefined }>(
  env: T,
): Omit<T, "LOG_LEVEL"> & { LOG_LEVEL: string } {
  return { ...env, LOG_LEVEL: env.LOG_LEVEL ?? (env.DEBUG ? "debug" : "info") };
}

/** SECRET_STORE=vault needs a token, and in production an explicit VAULT_ADDR. */
function checkSecretStore(
  env: { APP_ENV: string; SECRET_STORE: string; VAULT_ADDR?: string | undefined; VAULT_TOKEN?: string | undefined },
  ctx: z.RefinementCtx,
): void {
  if (env.SECRET_STORE !== "vault") return;
  if (!env.VAULT_TOKEN)
    ctx.addIssue({ code: "custom", path: ["VAULT_TOKEN"], message: "required when SECRET_STORE=vault" });
  if (env.APP_ENV !== "production") return;
  if (!env.VAULT_ADDR) {
    ctx.addIssue({ code: "custom", path: ["VAULT_ADDR"], message: "required in production when SECRET_STORE=vault" });
  }
}

export const gatewayEnvSchema = z
  .object(gatewayShape)
  .superRefine(checkSecretStore)
  .superRefine(checkS3)
  .transform((env) => withLogLevel(env));
export const subgraphEnvSchema = z
  .object(subgraphShape)
  .superRefine(checkOidc)
  .superRefine(checkSecretStore)
  .superRefine(checkS3)
  .transform((env) => withLogLevel(env));
export const cliEnvSchema = z
  .object({ ...commonShape, ...subgraphUrls, GATEWAY_PORT: gatewayShape.GATEWAY_PORT, HOST: gatewayShape.HOST })
  .superRefine(checkSecretStore)
  .superRefine(checkS3)
  .transform((env) => withLogLevel(env));

export const workerEnvSchema = z
  .object(workerShape)
  .superRefine(checkSecretStore)
  .superRefine(checkS3)
  .superRefine((env, ctx) => {
    if (env.LLM_PROVIDER !== "local" && !env.LLM_API_KEY) {
      ctx.addIssue({
        code: "custom",
        path: ["LLM_API_KEY"],
        message: `required when LLM_PROVIDER=${env.LLM_PROVIDER}`,
      });
    }
    if (env.LLM_PROVIDER === "azure") {
      for (const key of ["AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_DEPLOYMENT"] as const) {
        if (!env[key]) ctx.addIssue({ code: "custom", path: [key], message: "required when LLM_PROVIDER=azure" });
      }
    }
  })
  .transform((env) => withLogLevel(env));

export type GatewayEnv = z.infer<typeof gatewayEnvSchema>;
export type WorkerEnv = z.infer<typeof workerEnvSchema>;
export type SubgraphEnv = z.infer<typeof subgraphEnvSchema>;
export type CliEnv = z.infer<typeof cliEnvSchema>;
type CommonEnv = Pick<GatewayEnv, keyof typeof commonShape>;

/** Keys derived from configuration, or from the development key file. */
export interface KeyMaterial {
  /** ES256 private key as a JWK. */
  jwtPrivateJwk: Record<string, unknown> | string;
  apiKeyPepper: string;
  secretStoreKey: Buffer;
}

/** Every invalid variable, in one error. */
export class ConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(`Invalid configuration:\n${issues.map((i) => `  - ${i}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/** Parses `env` with `schema`, collecting every problem rather than stopping at the first. */
export function parseEnv<S extends z.ZodType>(schema: S, env: Record<string, string | undefined>): z.infer<S> {
  // Empty strings mean "unset", as in most shells' `VAR= cmd`.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const result = schema.safeParse(cleaned);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`));
  }
  return result.data;
}

/** Resolves keys: from variables, or (outside production only) from the dev key file. */
export function resolveKeys(env: CommonEnv): KeyMaterial {
  const missing: string[] = [];
  if (env.APP_ENV === "production") {
    if (!env.JWT_SECRET_KEY) missing.push("JWT_SECRET_KEY: required in production");
    if (!env.API_KEY_ENCRYPTION_KEY) missing.push("API_KEY_ENCRYPTION_KEY: required in production");
    if (!env.SECRET_STORE_LOCAL_KEY) missing.push("SECRET_STORE_LOCAL_KEY: required in production");
  }
  let secretStoreKey: Buffer | undefined;
  if (env.SECRET_STORE_LOCAL_KEY) {
    secretStoreKey = Buffer.from(env.SECRET_STORE_LOCAL_KEY, "base64");
    if (secretStoreKey.length !== 32) missing.push("SECRET_STORE_LOCAL_KEY: must be 32 bytes, base64-encoded");
  }
  if (missing.length > 0) throw new ConfigError(missing);
  const needDev = !env.JWT_SECRET_KEY || !env.API_KEY_ENCRYPTION_KEY || !secretStoreKey;
  const dev = needDev ? loadDevSecrets(env.DEV_SECRETS_DIR) : undefined;
  return {
    jwtPrivateJwk: env.JWT_SECRET_KEY ?? (dev?.jwtPrivateJwk as Record<string, unknown>),
    apiKeyPepper: env.API_KEY_ENCRYPTION_KEY ?? (dev?.apiKeyPepper as string),
    secretStoreKey: secretStoreKey ?? Buffer.from(dev?.secretStoreKey as string, "base64"),
  };
}

/** File of the development key folder that holds the generated application role password. */
const DEV_APP_DATABASE_PASSWORD = "app-database-password";

/**
 * The connection string the application processes use: APP_DATABASE_URL, or DATABASE_URL with
 * the user `<database>_app` and the password APP_DATABASE_PASSWORD (generated into the
 * development key folder outside production).
 */
export function resolveAppDatabaseUrl(
  env: Pick<CommonEnv, "APP_ENV" | "DATABASE_URL" | "APP_DATABASE_URL" | "APP_DATABASE_PASSWORD" | "DEV_SECRETS_DIR">,
): string {
  if (env.APP_DATABASE_URL) return env.APP_DATABASE_URL;
  if (!env.APP_DATABASE_PASSWORD && env.APP_ENV === "production") {
    throw new ConfigError([
      "APP_DATABASE_URL: required in production (or APP_DATABASE_PASSWORD, to connect to DATABASE_URL as <database>_app)",
    ]);
  }
  const url = new URL(env.DATABASE_URL);
  const database = decodeURIComponent(url.pathname.slice(1)) || "postgres";
  const role = `${database}_app`;
  // PostgreSQL cuts names at 63 bytes; a cut name would not be the role `db migrate` grants.
  if (Buffer.byteLength(role) > 63) {
    throw new ConfigError([`APP_DATABASE_URL: required, the database name is too long to name the role ${role}`]);
  }
  url.username = encodeURIComponent(role);
  url.password = encodeURIComponent(
    env.APP_DATABASE_PASSWORD ?? loadDevSecret(env.DEV_SECRETS_DIR, DEV_APP_DATABASE_PASSWORD),
  );
  return url.toString();
}
