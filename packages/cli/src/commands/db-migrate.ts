import { type CliEnv, ensureDatabase, grantAppRole, migrate, resolveAppDatabaseUrl } from "@sprintconnect/core";
import { parseOptions } from "../args";
import { loadEnv } from "../config";
import { out } from "../output";

/**
 * As the owner (DATABASE_URL): creates the database if needed, applies pending migrations, then
 * creates or updates the application role and grants it what the processes need (also the
 * tables those migrations created). Returns the names of the migrations applied.
 */
export async function migrateDatabase(env: CliEnv): Promise<string[]> {
  await ensureDatabase(env.DATABASE_URL);
  const { applied } = await migrate(env.DATABASE_URL);
  await grantAppRole(env.DATABASE_URL, resolveAppDatabaseUrl(env));
  return applied;
}

/** `db migrate` */
export async function run(args: string[]): Promise<number> {
  parseOptions(args, {});
  const applied = await migrateDatabase(loadEnv());
  if (applied.length === 0) {
    out("Database is up to date.");
  } else {
    out(`Applied ${applied.length} migration${applied.length === 1 ? "" : "s"}:`);
    for (const name of applied) out(`  ${name}`);
  }
  return 0;
}
