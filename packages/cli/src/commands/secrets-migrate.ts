import { LocalSecretStore, resolveKeys, vaultStoreOf } from "@sprintconnect/core";
import { parseOptions, required } from "../args";
import { usageError } from "../cli-error";
import { connect, loadEnv } from "../config";
import { note, out } from "../output";

/**
 * `secrets migrate --to vault [--prefix <ref>] [--delete-local] [--json]`: copies every secret
 * (or those whose reference starts with `--prefix`) of the local store
 * (SECRET_STORE_LOCAL_KEY, PostgreSQL) to Vault (VAULT_ADDR, VAULT_TOKEN, VAULT_NAMESPACE) under
 * the same reference. Safe to run again: a secret Vault already holds with the same value is
 * not written again. `--delete-local` removes each local copy once Vault holds it. Prints
 * counts and the references of secrets that could not be read, never a value. Exit 1 when any
 * secret could not be migrated. Run it, then set SECRET_STORE=vault and restart.
 */
export async function run(args: string[]): Promise<number> {
  const options = parseOptions(args, {
    to: { type: "string" },
    "delete-local": { type: "boolean" },
    prefix: { type: "string" },
    json: { type: "boolean" },
  });
  if (required(options.to, "--to") !== "vault") throw usageError("--to must be vault (the only other store)");
  const env = loadEnv();
  const vault = vaultStoreOf(env);
  const db = connect(env);
  const local = new LocalSecretStore(db, resolveKeys(env).secretStoreKey);
  const counts = { copied: 0, unchanged: 0, deletedLocal: 0 };
  const failed: Array<{ ref: string; reason: string }> = [];
  try {
    // Keyset pages of references: the values are read one at a time, never all in memory.
    let after: string | undefined;
    for (;;) {
      const page = await db.secretValue.findMany({
        select: { ref: true },
        where: {
          ...(options.prefix ? { ref: { startsWith: options.prefix } } : {}),
          ...(after ? { AND: [{ ref: { gt: after } }] } : {}),
        },
        orderBy: { ref: "asc" },
        take: 100,
      });
      if (page.length === 0) break;
      after = page.at(-1)?.ref;
      for (const { ref } of page) {
        let value: string | null;
        try {
          value = await local.get(ref);
        } catch (err) {
          failed.push({ ref, reason: `cannot decrypt: ${(err as Error).message}` });
          continue;
        }
        if (value === null) continue; // removed since the page was read
        // Vault errors (503: unreachable, sealed, refused) stop the run: nothing else would work.
        if ((await vault.get(ref)) === value) counts.unchanged++;
        else {
          await vault.put(ref, value);
          counts.copied++;
        }
        if (options["delete-local"]) {
          await local.delete(ref);
          counts.deletedLocal++;
        }
      }
    }
  } finally {
    await db.$disconnect();
  }
  if (options.json) out(JSON.stringify({ ...counts, failed }));
  else {
    out(
      `Secrets migrated to Vault: ${counts.copied} copied, ${counts.unchanged} already there` +
        (options["delete-local"] ? `, ${counts.deletedLocal} local copies deleted` : "") +
        `, ${failed.length} failed.`,
    );
    for (const f of failed) note(`  ${f.ref}: ${f.reason}`);
  }
  return failed.length > 0 ? 1 : 0;
}
