import type { PrismaClient } from "../db/prisma";
import type { Logger } from "../logger";
import { LocalSecretStore, type SecretStore } from "./secret-store";
import { VaultSecretStore } from "./vault-secret-store";

/** The dev-mode Vault of docker-compose.yml, the default VAULT_ADDR outside production. */
export const DEV_VAULT_ADDR = "http://127.0.0.1:8200";

/** The secret-store variables of any process's configuration (validated by its zod schema). */
export interface SecretStoreEnv {
  SECRET_STORE: "local" | "vault";
  VAULT_ADDR?: string | undefined;
  VAULT_TOKEN?: string | undefined;
  VAULT_NAMESPACE?: string | undefined;
}

/** The Vault store that VAULT_* describe (also used by `secrets migrate` whatever SECRET_STORE says). */
export function vaultStoreOf(env: SecretStoreEnv, logger?: Logger): VaultSecretStore {
  if (!env.VAULT_TOKEN) throw new Error("VAULT_TOKEN is required to reach Vault");
  return new VaultSecretStore({
    addr: env.VAULT_ADDR ?? DEV_VAULT_ADDR,
    token: env.VAULT_TOKEN,
    namespace: env.VAULT_NAMESPACE,
    logger,
  });
}

/** The store SECRET_STORE chooses; every process that reads or writes secrets builds it here. */
export function createSecretStore(
  env: SecretStoreEnv,
  db: PrismaClient,
  localKey: Buffer,
  logger?: Logger,
): SecretStore {
  return env.SECRET_STORE === "vault" ? vaultStoreOf(env, logger) : new LocalSecretStore(db, localKey);
}
