import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { createPrisma, isDatabaseUnavailable, type PrismaClient, readsOf } from "@sprintconnect/core";
import { sql } from "kysely";
import { appDatabaseUrl } from "./support/env";
import { asDatabaseOwner, freshDatabase } from "./support/own-services";
import { failure } from "./support/wait";

const ROOT = resolve(__dirname, "..");

describe("the read query builder's types", () => {
  it("are what prisma-kysely generates from schema.prisma today (run `npx prisma generate` after changing it)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "kysely-types-"));
    try {
      const schema = await readFile(join(ROOT, "prisma/schema.prisma"), "utf8");
      const generator = /generator kysely \{[^}]*\}/;
      expect(schema).toMatch(generator);
      const kyselyOnly = schema
        .replace(/generator client \{[^}]*\}/, "")
        // Needs the client generator's preview feature; no type depends on it.
        .replace(/\n\s*extensions\s*=\s*\[[^\]]*\]/, "")
        .replace(generator, (block) => block.replace(/output\s*=\s*"[^"]*"/, `output = "."`));
      await writeFile(join(dir, "schema.prisma"), kyselyOnly);
      await promisify(execFile)(
        join(ROOT, "node_modules/.bin/prisma"),
        ["generate", "--no-hints", "--schema", join(dir, "schema.prisma"), "--generator", "kysely"],
        {
          cwd: ROOT,
          env: {
            ...process.env,
            // The generator is a bin of the project, as under `npm run`.
            PATH: `${join(ROOT, "node_modules/.bin")}:${process.env.PATH ?? ""}`,
            DATABASE_URL: "postgresql://unused@127.0.0.1:1/unused",
          },
        },
      );
      const fresh = await readFile(join(dir, "kysely-types.ts"), "utf8");
      const committed = await readFile(join(ROOT, "packages/core/src/db/generated/kysely-types.ts"), "utf8");
      expect(committed).toBe(fresh);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe("reads on createPrisma's pool", () => {
  let database: Awaited<ReturnType<typeof freshDatabase>>;
  let db: PrismaClient;

  beforeAll(async () => {
    database = await freshDatabase("reads");
    db = createPrisma({ DATABASE_URL: appDatabaseUrl(database.url), DATABASE_POOL_SIZE: 2, DATABASE_MAX_OVERFLOW: 0 });
  }, 60_000);
  afterAll(async () => {
    await db?.$disconnect();
    await database?.drop();
  });

  it("share the client's pool: one builder per client, refused for a client createPrisma did not make", async () => {
    expect(readsOf(db)).toBe(readsOf(db));
    const rows = await readsOf(db).selectFrom("McpServer").select("id").limit(1).execute();
    expect(rows).toEqual([]);
    await expect(readsOf({}).selectFrom("McpServer").select("id").execute()).rejects.toThrow(/createPrisma/);
  });

  it("fail as unavailable (SERVICE_UNAVAILABLE) when PostgreSQL kills the connection, and work again at once", async () => {
    const marker = `read-layer-${Date.now()}`;
    const sleeping = sql`SELECT pg_sleep(30), ${marker}::text AS marker`.execute(readsOf(db));
    await asDatabaseOwner(async (owner) => {
      for (let i = 0; i < 100; i++) {
        const { rowCount } = await owner.query(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
            WHERE datname = current_database() AND query LIKE '%pg_sleep(30)%' AND pid <> pg_backend_pid()`,
        );
        if (rowCount) return;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error("the read never started");
    }, database.url);
    const err = await failure(sleeping);
    expect(isDatabaseUnavailable(err)).toBe(true);
    // The pool dropped the dead connection and opened another.
    await expect(readsOf(db).selectFrom("Organization").select("id").execute()).resolves.toEqual([]);
  }, 30_000);

  it("fail as unavailable when PostgreSQL cannot be reached at all", async () => {
    const dead = createPrisma({
      DATABASE_URL: "postgresql://postgres@127.0.0.1:1/nowhere",
      DATABASE_POOL_SIZE: 1,
      DATABASE_MAX_OVERFLOW: 0,
    });
    try {
      const err = await failure(readsOf(dead).selectFrom("McpServer").select("id").execute());
      expect(isDatabaseUnavailable(err)).toBe(true);
    } finally {
      await dead.$disconnect();
    }
  });

  it("keep a statement's own error (a SQLSTATE that is not the connection's) as it is: not unavailable", async () => {
    const err = await failure(
      readsOf(db).selectFrom("McpServer").select("id").where("id", "=", "not-a-uuid").execute(),
    );
    expect((err as { code?: string }).code).toBe("22P02");
    expect(isDatabaseUnavailable(err)).toBe(false);
  });
});
