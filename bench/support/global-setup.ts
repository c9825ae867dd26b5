import { ensureDatabase, migrate } from "../../packages/core/src/db/migrate";
import { BENCH_DATABASE_URL } from "./env";

/** Creates the bench database if needed and applies the migrations, once per run. */
export default async function globalSetup(): Promise<void> {
  await ensureDatabase(BENCH_DATABASE_URL);
  await migrate(BENCH_DATABASE_URL);
}
