import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { composeSupergraph } from "@sprintconnect/cli";
import { ensureDatabase, migrate } from "@sprintconnect/core";
import { Client } from "pg";
import { TEST_DATABASE_URL } from "./support/env";

const ROOT = resolve(__dirname, "..");

function databaseUrl(name: string): string {
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

async function withClient<T>(url: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function freshDatabase(name: string): Promise<string> {
  const url = databaseUrl(name);
  await withClient(databaseUrl("postgres"), async (c) => {
    await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  });
  await ensureDatabase(url);
  return url;
}

/** Tables, columns, enums, indexes and constraints of the public schema, in a stable order. */
async function describeSchema(url: string) {
  return withClient(url, async (c) => {
    const columns = await c.query(`
      SELECT table_name, column_name, data_type, udt_name, is_nullable, column_default, character_maximum_length,
             numeric_precision, numeric_scale, datetime_precision
        FROM information_schema.columns
       WHERE table_schema = 'public' AND table_name <> '_prisma_migrations'
       ORDER BY table_name, column_name`);
    const enums = await c.query(`
      SELECT t.typname, array_agg(e.enumlabel ORDER BY e.enumsortorder) AS labels
        FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid
       GROUP BY t.typname ORDER BY t.typname`);
    const indexes = await c.query(`
      SELECT tablename, indexname, indexdef FROM pg_indexes
       WHERE schemaname = 'public' AND tablename <> '_prisma_migrations' ORDER BY tablename, indexname`);
    const constraints = await c.query(`
      SELECT conrelid::regclass::text AS table_name, conname, pg_get_constraintdef(oid) AS def
        FROM pg_constraint
       WHERE connamespace = 'public'::regnamespace AND conrelid::regclass::text NOT IN ('_prisma_migrations', '"_prisma_migrations"')
       ORDER BY 1, 2`);
    return { columns: columns.rows, enums: enums.rows, indexes: indexes.rows, constraints: constraints.rows };
  });
}

describe("the database schema", () => {
  it("is exactly what schema.prisma describes once the migrations have run", async () => {
    const migrated = await freshDatabase("sprintconnect_schema_migrated");
    await migrate(migrated);
    const expected = await freshDatabase("sprintconnect_schema_expected");
    const sql = execFileSync(
      join(ROOT, "node_modules/.bin/prisma"),
      ["migrate", "diff", "--from-empty", "--to-schema-datamodel", "prisma/schema.prisma", "--script"],
      {
        cwd: ROOT,
        env: { ...process.env, DATABASE_URL: expected },
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    await withClient(expected, (c) => c.query(sql));
    const [a, b] = [await describeSchema(migrated), await describeSchema(expected)];
    expect(a.columns.length).toBeGreaterThan(50);
    expect(a).toEqual(b);
  }, 60_000);

  it("applies migrations once: a second run applies nothing", async () => {
    const url = await freshDatabase("sprintconnect_schema_twice");
    const first = await migrate(url);
    expect(first.applied.length).toBeGreaterThanOrEqual(2);
    expect((await migrate(url)).applied).toEqual([]);
    const rows = await withClient(url, (c) =>
      c.query(`SELECT migration_name, finished_at FROM "_prisma_migrations" ORDER BY migration_name`),
    );
    expect(rows.rows.map((r) => r.migration_name)).toEqual(first.applied);
    expect(rows.rows.every((r) => r.finished_at !== null)).toBe(true);
  });

  it("serializes concurrent migration runs with the advisory lock", async () => {
    const url = await freshDatabase("sprintconnect_schema_race");
    const [a, b] = await Promise.all([migrate(url), migrate(url)]);
    expect([...a.applied, ...b.applied].sort()).toEqual((a.applied.length ? a : b).applied.slice().sort());
  });
});

describe("the supergraph", () => {
  it("in schema/ is what composing the subgraphs produces", async () => {
    const { subgraphs, supergraphSdl } = await composeSupergraph();
    for (const [name, sdl] of Object.entries(subgraphs)) {
      expect(readFileSync(join(ROOT, "schema", `${name}.graphql`), "utf8")).toBe(sdl);
    }
    expect(readFileSync(join(ROOT, "schema", "supergraph.graphql"), "utf8")).toBe(supergraphSdl);
  });
});
