import { type CliEnv, ensureDatabase, migrate } from "@sprintconnect/core";
import { parseOptions } from "../args";
import { loadEnv } from "../config";
import { out } from "../output";

/** Creates the database if needed and applies pending migrations; returns their names. */
export async function migrateDatabase(env: CliEnv): Promise<string[]> {
  await ensureDatabase(env.DATABASE_URL);
  const { applied } = await migrate(env.DATABASE_URL);
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
