import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { composeSupergraph } from "@sprintconnect/cli";
import { ensureDatabase, grantAppRole, MIGRATIONS_DIR, migrate, scramVerifier } from "@sprintconnect/core";
import { Client } from "pg";
import { TEST_DATABASE_URL } from "./support/env";

const ROOT = resolve(__dirname, "..");

function databaseUrl(name: string): string {
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

// Named after the test database, so runs against other test databases on the same server
// never drop each other's.
const PREFIX = decodeURIComponent(new URL(TEST_DATABASE_URL).pathname.slice(1));

/** `url` connecting as `role` with `password`. */
function asRole(url: string, role: string, password: string): string {
  const u = new URL(url);
  u.username = role;
  u.password = password;
  return u.toString();
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
    const migrated = await freshDatabase(`${PREFIX}_schema_migrated`);
    await migrate(migrated);
    const expected = await freshDatabase(`${PREFIX}_schema_expected`);
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
    const url = await freshDatabase(`${PREFIX}_schema_twice`);
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
    const url = await freshDatabase(`${PREFIX}_schema_race`);
    const [a, b] = await Promise.all([migrate(url), migrate(url)]);
    expect([...a.applied, ...b.applied].sort()).toEqual((a.applied.length ? a : b).applied.slice().sort());
  });
});

describe("the application role", () => {
  it("is granted the tables a later migration creates, and still only reads and appends the audit tables", async () => {
    const url = await freshDatabase(`${PREFIX}_schema_grants`);
    const app = asRole(url, `${PREFIX}_schema_grants_app`, randomBytes(16).toString("hex"));
    await migrate(url);
    await grantAppRole(url, app);
    const dir = mkdtempSync(join(tmpdir(), "sc-migrations-"));
    try {
      cpSync(MIGRATIONS_DIR, dir, { recursive: true });
      mkdirSync(join(dir, "99990101000000_later"));
      writeFileSync(
        join(dir, "99990101000000_later", "migration.sql"),
        `CREATE TABLE "Later" (id serial PRIMARY KEY, note text);`,
      );
      expect((await migrate(url, undefined, dir)).applied).toEqual(["99990101000000_later"]);
      await grantAppRole(url, app);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    await withClient(app, async (c) => {
      await c.query(`INSERT INTO "Later" (note) VALUES ('granted')`); // the table and its sequence
      await c.query(`UPDATE "Later" SET note = 'changed'`);
      await c.query(`DELETE FROM "Later"`);
      await expect(c.query(`DELETE FROM "AuditLog"`)).rejects.toThrow(/permission denied/);
      await expect(c.query(`ALTER TABLE "Later" ADD COLUMN x int`)).rejects.toThrow(/must be owner/);
    });
  }, 60_000);

  it("is created once when several databases migrate at the same moment, with the password PostgreSQL would store", async () => {
    // Roles belong to the whole server: two databases' migrations may both find it missing.
    const role = `sc_probe_${randomBytes(6).toString("hex")}`;
    const password = randomBytes(16).toString("base64url");
    const urls = [await freshDatabase(`${PREFIX}_roles_a`), await freshDatabase(`${PREFIX}_roles_b`)];
    try {
      const results = await Promise.all(
        urls.map(async (url) => {
          await migrate(url);
          return grantAppRole(url, asRole(url, role, password));
        }),
      );
      expect(results.filter((r) => r.created).length).toBeLessThanOrEqual(1);
      await withClient(urls[0] as string, async (c) => {
        const { rows } = await c.query(
          "SELECT rolsuper, rolcreaterole, rolcreatedb, rolcanlogin, rolpassword FROM pg_authid WHERE rolname = $1",
          [role],
        );
        expect(rows[0]).toMatchObject({ rolsuper: false, rolcreaterole: false, rolcreatedb: false, rolcanlogin: true });
        // Our verifier, from the salt and iterations PostgreSQL stored, is PostgreSQL's own.
        const [, iterations, salt] = /^SCRAM-SHA-256\$(\d+):([^$]+)\$/.exec(rows[0].rolpassword) ?? [];
        expect(rows[0].rolpassword).toBe(
          scramVerifier(password, Number(iterations), Buffer.from(salt ?? "", "base64")),
        );
        await c.query(`ALTER ROLE "${role}" PASSWORD 'pencil'`);
        const computed = (await c.query("SELECT rolpassword FROM pg_authid WHERE rolname = $1", [role])).rows[0];
        const [, i2, s2] = /^SCRAM-SHA-256\$(\d+):([^$]+)\$/.exec(computed.rolpassword) ?? [];
        expect(computed.rolpassword).toBe(scramVerifier("pencil", Number(i2), Buffer.from(s2 ?? "", "base64")));
      });
      for (const url of urls) {
        await withClient(asRole(url, role, password), async (c) => {
          expect((await c.query('SELECT count(*)::int AS n FROM "AuditLog"')).rows[0].n).toBe(0);
        });
      }
    } finally {
      // A throwaway role of this test only (the application role itself is never dropped).
      await withClient(databaseUrl("postgres"), async (c) => {
        for (const url of urls)
          await c.query(`DROP DATABASE IF EXISTS "${new URL(url).pathname.slice(1)}" WITH (FORCE)`);
        await c.query(`DROP ROLE IF EXISTS "${role}"`);
      });
    }
  }, 60_000);

  it("refuses to grant the role that runs the migrations", async () => {
    const url = await freshDatabase(`${PREFIX}_schema_self`);
    await migrate(url);
    const owner = decodeURIComponent(new URL(url).username);
    await expect(grantAppRole(url, asRole(url, owner, ""))).rejects.toThrow(/other than the one that runs migrations/);
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
