import { cliEnvSchema, parseEnv, resolveAppDatabaseUrl } from "../../packages/core/src/config";
import { grantAppRole } from "../../packages/core/src/db/app-role";
import { ensureDatabase, migrate } from "../../packages/core/src/db/migrate";
import { BENCH_DATABASE_URL } from "./env";

/**
 * Creates the bench database if needed, applies the migrations and grants its application role
 * (which the stacks connect as), once per run.
 */
export default async function globalSetup(): Promise<void> {
  await ensureDatabase(BENCH_DATABASE_URL);
  await migrate(BENCH_DATABASE_URL);
  await grantAppRole(
    BENCH_DATABASE_URL,
    resolveAppDatabaseUrl(parseEnv(cliEnvSchema, { APP_ENV: "development", DATABASE_URL: BENCH_DATABASE_URL })),
  );
}
