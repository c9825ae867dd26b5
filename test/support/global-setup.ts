import { grantAppRole } from "../../packages/core/src/db/app-role";
import { ensureDatabase, migrate } from "../../packages/core/src/db/migrate";
import { TEST_APP_DATABASE_URL, TEST_DATABASE_URL } from "./env";

/**
 * Creates the test database if needed, applies the migrations as the owner and grants the
 * application role, once per run: the stacks then connect as that role, so the whole suite
 * proves its grants are enough.
 */
export default async function globalSetup(): Promise<void> {
  await ensureDatabase(TEST_DATABASE_URL);
  await migrate(TEST_DATABASE_URL);
  await grantAppRole(TEST_DATABASE_URL, TEST_APP_DATABASE_URL);
}
