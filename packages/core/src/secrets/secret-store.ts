import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import type { Db, PrismaClient } from "../db/prisma";

/**
 * Where credentials live (`createSecretStore` picks one by SECRET_STORE). The API never returns
 * a secret once stored. `put` and `delete` take the caller's transaction: a store that keeps
 * secrets in PostgreSQL writes them in it, so a rollback leaves neither the credential row nor
 * its secret behind; a store that cannot (Vault) offers `begin`, and callers that change a row
 * and its secret together go through {@link withSecretTransaction}, which serves both.
 */
export interface SecretStore {
  put(ref: string, value: string, tx?: Db): Promise<void>;
  get(ref: string): Promise<string | null>;
  delete(ref: string, tx?: Db): Promise<void>;
  /**
   * A store outside PostgreSQL (Vault) cannot join the caller's transaction: it returns a unit
   * whose writes {@link withSecretTransaction} orders around the commit. A store without
   * `begin` writes in the transaction itself.
   */
  begin?(): SecretUnit;
}

/** Secret writes that follow one database transaction (see {@link withSecretTransaction}). */
export interface SecretUnit {
  /** The store to use inside the transaction. */
  secrets: SecretStore;
  /** Undoes what `secrets` wrote: the transaction rolled back. */
  rollback(): Promise<void>;
  /** Applies what had to wait for the commit (removals). */
  committed(): Promise<void>;
}

/**
 * Runs `work` in one database transaction with the secret writes it makes through the
 * `secrets` it is given: in the transaction for the local store; around it for Vault (written
 * before the commit and undone on rollback, removed after the commit). Use it wherever a row
 * that names a secret and the secret change together.
 */
export async function withSecretTransaction<T>(
  db: PrismaClient,
  store: SecretStore,
  work: (tx: Db, secrets: SecretStore) => Promise<T>,
): Promise<T> {
  const unit = store.begin?.();
  if (!unit) return db.$transaction((tx) => work(tx, store));
  let result: T;
  try {
    result = await db.$transaction((tx) => work(tx, unit.secrets));
  } catch (err) {
    await unit.rollback();
    throw err;
  }
  await unit.committed();
  return result;
}

/** Reference of an MCP server's credentials, the same path a Vault store would use. */
export function serverCredentialRef(serverId: string): string {
  return `secret/sprintconnect/mcp-servers/${serverId}/credentials`;
}

/**
 * The origin (scheme, host, port) a credential is bound to: it is sent to this origin only. A
 * server whose URL moves to another origin loses its credentials (or gets new ones).
 */
export function credentialOrigin(url: string): string {
  return new URL(url).origin;
}

/**
 * The `local` store: AES-256-GCM under SECRET_STORE_LOCAL_KEY, ciphertext in PostgreSQL.
 * The reference is the additional authenticated data, so a ciphertext copied to another
 * reference does not decrypt.
 */
export class LocalSecretStore implements SecretStore {
  private readonly keyId: string;

  constructor(
    private readonly db: Db,
    private readonly key: Buffer,
  ) {
    if (key.length !== 32) throw new Error("the local secret store needs a 32-byte key");
    this.keyId = createHash("sha256").update(key).digest("hex").slice(0, 16);
  }

  async put(ref: string, value: string, tx: Db = this.db): Promise<void> {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv);
    cipher.setAAD(Buffer.from(ref));
    const ciphertext = Buffer.concat([cipher.update(value, "utf8"), cipher.final()]);
    const data = { ciphertext, iv, authTag: cipher.getAuthTag(), keyId: this.keyId };
    await tx.secretValue.upsert({ where: { ref }, create: { ref, ...data }, update: data });
  }

  async get(ref: string): Promise<string | null> {
    const row = await this.db.secretValue.findUnique({ where: { ref } });
    if (!row) return null;
    if (row.keyId !== this.keyId) throw new Error(`secret ${ref} was encrypted with another key (${row.keyId})`);
    const decipher = createDecipheriv("aes-256-gcm", this.key, row.iv);
    decipher.setAAD(Buffer.from(ref));
    decipher.setAuthTag(row.authTag);
    return Buffer.concat([decipher.update(row.ciphertext), decipher.final()]).toString("utf8");
  }

  async delete(ref: string, tx: Db = this.db): Promise<void> {
    await tx.secretValue.deleteMany({ where: { ref } });
  }
}
