import { AppError, ErrorCode } from "../errors";
import type { Logger } from "../logger";
import type { SecretStore, SecretUnit } from "./secret-store";

/** How long one Vault request may take: less than a Prisma transaction's 5 s, which may wait on it. */
const VAULT_TIMEOUT_MS = 3_000;

export interface VaultOptions {
  /** VAULT_ADDR, e.g. `https://vault.internal:8200`. */
  addr: string;
  /** VAULT_TOKEN, sent as `X-Vault-Token` and nowhere else (never in a message or a log line). */
  token: string;
  /** VAULT_NAMESPACE, sent as `X-Vault-Namespace`. */
  namespace?: string | undefined;
  logger?: Logger | undefined;
  timeoutMs?: number;
}

/**
 * A small client for the four KV v2 calls we make. A reference `secret/sprintconnect/a/b` is
 * the mount `secret` and the path `sprintconnect/a/b`: data at `/v1/secret/data/sprintconnect/a/b`,
 * metadata (every version, removed together) at `/v1/secret/metadata/sprintconnect/a/b`. The
 * value is kept as `{ "value": "<string>" }`.
 *
 * It uses the runtime's `fetch`, not the egress guard: VAULT_ADDR is the operator's own
 * infrastructure (like DATABASE_URL and REDIS_URL), usually on a private network the guard
 * refuses by design, and no tenant can choose it. Every failure (network, timeout, a status
 * other than 2xx or a read's 404) is a SERVICE_UNAVAILABLE AppError that names the operation
 * and the status, never the token.
 */
export class VaultKv {
  private readonly base: string;
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;

  constructor(options: VaultOptions) {
    this.base = options.addr.replace(/\/+$/, "");
    this.headers = {
      "x-vault-token": options.token,
      ...(options.namespace ? { "x-vault-namespace": options.namespace } : {}),
    };
    this.timeoutMs = options.timeoutMs ?? VAULT_TIMEOUT_MS;
  }

  /** The secret's current value, or null when it does not exist (or its latest version was deleted). */
  async read(ref: string): Promise<string | null> {
    const res = await this.call("read", "GET", kvUrl(ref, "data"));
    if (res.status === 404) return null;
    const body = (await res.json().catch(() => null)) as { data?: { data?: { value?: unknown } } } | null;
    const value = body?.data?.data?.value;
    if (typeof value !== "string") throw unavailable("read", "the answer has no string `value`");
    return value;
  }

  /** Writes a new version. */
  async write(ref: string, value: string): Promise<void> {
    await this.call("write", "POST", kvUrl(ref, "data"), { data: { value } });
  }

  /** Removes the secret with all its versions and its metadata. Removing a missing secret succeeds. */
  async destroy(ref: string): Promise<void> {
    await this.call("delete", "DELETE", kvUrl(ref, "metadata"));
  }

  private async call(operation: string, method: string, path: string, body?: unknown): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, {
        method,
        headers: { ...this.headers, ...(body ? { "content-type": "application/json" } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(this.timeoutMs),
        redirect: "error",
      });
    } catch (err) {
      const reason = (err as Error).name === "TimeoutError" ? `no answer in ${this.timeoutMs} ms` : "connection failed";
      throw unavailable(operation, reason);
    }
    if (res.ok || (operation === "read" && res.status === 404)) return res;
    await res.body?.cancel();
    throw unavailable(operation, `HTTP ${res.status}`);
  }
}

function unavailable(operation: string, reason: string): AppError {
  return new AppError(
    ErrorCode.SERVICE_UNAVAILABLE,
    `The secret store (Vault) is unavailable: ${operation} failed, ${reason}`,
    {
      dependency: "vault",
    },
  );
}

/** `secret/sprintconnect/x` → `/v1/secret/<kind>/sprintconnect/x`, each segment URL-encoded. */
function kvUrl(ref: string, kind: "data" | "metadata"): string {
  const [mount, ...rest] = ref.split("/");
  if (!mount || rest.length === 0) throw new Error(`not a Vault reference: ${ref}`);
  return `/v1/${encodeURIComponent(mount)}/${kind}/${rest.map(encodeURIComponent).join("/")}`;
}

/**
 * The `vault` store. Vault cannot join a PostgreSQL transaction, so inside
 * {@link withSecretTransaction} writes are ordered around the database's commit:
 *
 * - `put` writes to Vault at once, before the commit (a Vault outage fails the request with 503
 *   and rolls the transaction back: nothing is stored half-way), after reading the value it
 *   replaces; if the transaction then rolls back, the previous value is written back (or the
 *   new secret removed when there was none).
 * - `delete` waits for the commit: a rollback keeps the secret its row still points at.
 *
 * So a rollback never leaves a credential row without its secret, nor a secret that no row
 * names. What remains is a crash of the process between its Vault write and its commit, or a
 * failed compensation or post-commit removal (each logged as an error, without the value): a
 * secret in Vault that no row names (harmless: nothing reads it; the next `put` to the same
 * server replaces it), or, for a replaced credential, the new value under the old row until
 * the next write. Called outside a unit, `put` and `delete` act at once.
 *
 * Restoring "the value it replaced" assumes one writer of a reference at a time: the registry
 * writes a server's secret while its transaction holds the server's row lock (its UPDATE), so a
 * second writer waits for the first to commit or roll back before reading what to restore.
 * A removal runs after the commit, outside that lock: new credentials committed for the same
 * server in the instant between the commit and the removal would lose their secret (a known
 * gap; the worker then fails the job saying the secret is missing).
 */
export class VaultSecretStore implements SecretStore {
  readonly kv: VaultKv;
  private readonly logger: Logger | undefined;

  constructor(options: VaultOptions) {
    this.kv = new VaultKv(options);
    this.logger = options.logger;
  }

  put(ref: string, value: string): Promise<void> {
    return this.kv.write(ref, value);
  }

  get(ref: string): Promise<string | null> {
    return this.kv.read(ref);
  }

  delete(ref: string): Promise<void> {
    return this.kv.destroy(ref);
  }

  begin(): SecretUnit {
    const previous = new Map<string, string | null>();
    const removals = new Set<string>();
    const kv = this.kv;
    const logger = this.logger;
    const secrets: SecretStore = {
      async put(ref, value) {
        removals.delete(ref);
        if (!previous.has(ref)) previous.set(ref, await kv.read(ref));
        await kv.write(ref, value);
      },
      get: (ref) => kv.read(ref),
      async delete(ref) {
        removals.add(ref);
      },
    };
    return {
      secrets,
      async rollback() {
        for (const [ref, value] of previous) {
          try {
            if (value === null) await kv.destroy(ref);
            else await kv.write(ref, value);
          } catch (err) {
            logger?.error({ ref, err: (err as Error).message }, "could not undo a Vault write after a rollback");
          }
        }
      },
      async committed() {
        for (const ref of removals) {
          try {
            await kv.destroy(ref);
          } catch (err) {
            logger?.error({ ref, err: (err as Error).message }, "could not remove a Vault secret whose row is gone");
          }
        }
      },
    };
  }
}
