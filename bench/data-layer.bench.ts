import { randomUUID } from "node:crypto";
import { createPrisma, type PrismaClient, readsOf } from "@sprintconnect/core";
import { Pool } from "pg";
import { appDatabaseUrl } from "../test/support/env";
import { BENCH_DATABASE_URL } from "./support/env";
import { conditionsNote, printTable, writeResults } from "./support/report";
import { progress } from "./support/stack";

/**
 * The data layer alone, in one process and one run: the registry's 20-server list (the
 * columns `mcpServers { id name baseUrl tags environment health { … } }` needs) read through
 * each option, with the client CPU each read costs. Raw `pg` with a named prepared statement
 * is the floor every other row is compared with.
 *
 * `PRISMA7_DIR=<folder>` adds Prisma 7 rows for comparison: a folder where `prisma@7`,
 * `@prisma/client@7` and `@prisma/adapter-pg@7` are installed and the client generated from
 * a copy of our schema (the project does not depend on it).
 */
const CONCURRENCY = 10;
const WARMUP_MS = 1_500;
const DURATION_MS = 5_000;
const ROWS = 20;

const LIST_COLUMNS = [
  "id",
  "name",
  "baseUrl",
  "tags",
  "environment",
  "healthStatus",
  "lastHealthCheckAt",
  "healthLatencyMs",
  "createdAt",
] as const;
const select = Object.fromEntries(LIST_COLUMNS.map((c) => [c, true]));
const where = (organizationId: string) => ({ organizationId, deletedAt: null });
const orderBy = [{ createdAt: "desc" as const }, { id: "desc" as const }];

type Read = () => Promise<unknown[]>;

interface Row {
  option: string;
  readsPerSecond: number;
  cpuMsPerRead: number;
  vsRawPg: number;
}

/** `CONCURRENCY` loops reading for `DURATION_MS` after a warm-up: reads/s and process CPU per read. */
async function measure(read: Read): Promise<{ readsPerSecond: number; cpuMsPerRead: number }> {
  const sample = await read();
  if (sample.length !== ROWS) throw new Error(`expected ${ROWS} rows, got ${sample.length}`);
  const run = async (ms: number) => {
    let count = 0;
    const end = Date.now() + ms;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (Date.now() < end) {
          await read();
          count++;
        }
      }),
    );
    return count;
  };
  await run(WARMUP_MS);
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  const count = await run(DURATION_MS);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const used = process.cpuUsage(cpu);
  return { readsPerSecond: count / seconds, cpuMsPerRead: (used.user + used.system) / 1000 / count };
}

let prisma: PrismaClient;
let pool: Pool;
let prisma7: { client: { $disconnect(): Promise<void> } & Record<string, unknown>; version: string } | null = null;
let organizationId: string;

beforeAll(async () => {
  const url = appDatabaseUrl(BENCH_DATABASE_URL);
  prisma = createPrisma({ DATABASE_URL: url, DATABASE_POOL_SIZE: CONCURRENCY, DATABASE_MAX_OVERFLOW: 0 });
  pool = new Pool({ connectionString: url, max: CONCURRENCY, options: "-c jit=off" });
  organizationId = randomUUID();
  await prisma.organization.create({
    data: { id: organizationId, name: "Bench data layer", slug: `bench-data-layer-${organizationId}` },
  });
  // More rows than one page, some with health results and credentials, as a real list has.
  for (let i = 0; i < ROWS + 5; i++) {
    const server = await prisma.mcpServer.create({
      data: {
        organizationId,
        name: `bench-data-layer-${i}`,
        baseUrl: `https://mcp${i}.example.test/mcp`,
        tags: ["bench", `t${i % 3}`],
        environment: i % 2 ? "production" : "staging",
        healthStatus: "healthy",
        lastHealthCheckAt: new Date(),
        healthLatencyMs: 10 + i,
        metadata: { team: "bench", index: i },
      },
    });
    if (i % 4 === 0) {
      await prisma.mcpCredential.create({
        data: {
          organizationId,
          serverId: server.id,
          kind: "bearer",
          secretRef: `bench/${server.id}`,
          origin: `https://mcp${i}.example.test`,
          headerNames: [],
        },
      });
    }
  }
  if (process.env.PRISMA7_DIR) {
    const dir = process.env.PRISMA7_DIR;
    const { PrismaClient: Client7 } = require(`${dir}/node_modules/@prisma/client`);
    const { PrismaPg: Pg7 } = require(`${dir}/node_modules/@prisma/adapter-pg`);
    const version = require(`${dir}/node_modules/@prisma/client/package.json`).version as string;
    prisma7 = { client: new Client7({ adapter: new Pg7({ connectionString: url, max: CONCURRENCY }) }), version };
  }
}, 120_000);

afterAll(async () => {
  await prisma?.organization.delete({ where: { id: organizationId } }).catch(() => undefined);
  await Promise.all([prisma?.$disconnect(), pool?.end(), prisma7?.client.$disconnect()]);
});

describe("data layer", () => {
  it("prints reads/s and client CPU per read of the 20-server list for each way of reading it", async () => {
    const reads = readsOf(prisma);
    const columns = LIST_COLUMNS.map((c) => `"${c}"`).join(", ");
    const options: Array<{ option: string; read: Read }> = [
      {
        option: "raw pg, named prepared statement (floor)",
        read: async () =>
          (
            await pool.query({
              name: "bench-list",
              text: `SELECT ${columns} FROM "McpServer" WHERE "organizationId" = $1 AND "deletedAt" IS NULL
                      ORDER BY "createdAt" DESC, id DESC LIMIT $2`,
              values: [organizationId, ROWS],
            })
          ).rows,
      },
      {
        option: "Kysely, 9 columns (on createPrisma's pool)",
        read: () =>
          reads
            .selectFrom("McpServer")
            .select(LIST_COLUMNS)
            .where("organizationId", "=", organizationId)
            .where("deletedAt", "is", null)
            .orderBy("createdAt", "desc")
            .orderBy("id", "desc")
            .limit(ROWS)
            .execute(),
      },
      {
        option: "Kysely, all columns + credentials (2 queries)",
        read: async () => {
          const rows = await reads
            .selectFrom("McpServer")
            .selectAll()
            .where("organizationId", "=", organizationId)
            .where("deletedAt", "is", null)
            .orderBy("createdAt", "desc")
            .orderBy("id", "desc")
            .limit(ROWS)
            .execute();
          await reads
            .selectFrom("McpCredential")
            .select(["serverId", "kind", "headerNames", "origin", "updatedAt"])
            .where(
              "serverId",
              "in",
              rows.map((r) => r.id),
            )
            .execute();
          return rows;
        },
      },
      {
        option: `Prisma 6.19 findMany, include credentials (before)`,
        read: () =>
          prisma.mcpServer.findMany({
            where: where(organizationId),
            orderBy,
            take: ROWS,
            include: { credentials: true },
          }),
      },
      {
        option: "Prisma 6.19 findMany, 9-column select",
        read: () => prisma.mcpServer.findMany({ where: where(organizationId), orderBy, take: ROWS, select }),
      },
      {
        option: "Prisma 6.19 $queryRawUnsafe, 9 columns",
        read: () =>
          prisma.$queryRawUnsafe<unknown[]>(
            `SELECT ${columns} FROM "McpServer" WHERE "organizationId" = $1::uuid AND "deletedAt" IS NULL
              ORDER BY "createdAt" DESC, id DESC LIMIT $2`,
            organizationId,
            ROWS,
          ),
      },
    ];
    if (prisma7) {
      const server = prisma7.client.mcpServer as { findMany(args: unknown): Promise<unknown[]> };
      options.push(
        {
          option: `Prisma ${prisma7.version} findMany, include credentials (not a dependency)`,
          read: () =>
            server.findMany({ where: where(organizationId), orderBy, take: ROWS, include: { credentials: true } }),
        },
        {
          option: `Prisma ${prisma7.version} findMany, 9-column select (not a dependency)`,
          read: () => server.findMany({ where: where(organizationId), orderBy, take: ROWS, select }),
        },
      );
    }

    const results: Row[] = [];
    let floor = 0;
    for (const { option, read } of options) {
      progress(option);
      const m = await measure(read);
      if (!floor) floor = m.readsPerSecond;
      results.push({ option, ...m, vsRawPg: m.readsPerSecond / floor });
    }
    printTable(
      `Data layer: ${ROWS}-server list, ${CONCURRENCY} concurrent readers, ${DURATION_MS / 1000} s each (one process)`,
      ["option", "reads/s", "× raw pg", "CPU ms/read"],
      results.map((r) => [r.option, Math.round(r.readsPerSecond), r.vsRawPg.toFixed(2), r.cpuMsPerRead.toFixed(3)]),
      conditionsNote(),
    );
    await writeResults("data-layer", { rows: ROWS, concurrency: CONCURRENCY, durationMs: DURATION_MS, results });
    expect(results.every((r) => r.readsPerSecond > 0)).toBe(true);
  });
});
