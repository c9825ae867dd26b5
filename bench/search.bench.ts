import type { Prisma } from "@sprintconnect/core";
import { type RunSql, searchCapabilities, searchServers } from "@sprintconnect/registry-subgraph";
import { Client } from "pg";
import type { Stack } from "../test/support/stack";
import { BENCH_DATABASE_URL } from "./support/env";
import { runLoad } from "./support/load";
import { conditionsNote, printTable, printText, writeResults } from "./support/report";
import { CORPUS_CAPABILITIES, CORPUS_SERVERS, type Corpus, ensureCorpus } from "./support/search-corpus";
import { QUERIES, type Query } from "./support/search-queries";
import { progress, startBenchStack } from "./support/stack";
import { type Summary, summarize } from "./support/stats";

/** Requests per query and path; each path also stops after MAX_MS. */
const REQUESTS = 100;
const MAX_MS = 10_000;
const LIMIT = 20;

/**
 * The registry's search (search.repository.ts: the walk, then the ranked statement if the walk
 * could not fill the page) on the dedicated pg connection; `ran` collects the statements run.
 */
const searchOf = (query: Query, organizationId: string) => {
  const ran: Prisma.Sql[] = [];
  const run = (async (statement: Prisma.Sql) => {
    ran.push(statement);
    return (await pg.query(statement.text, statement.values)).rows;
  }) as RunSql;
  const search = () =>
    query.route === "servers"
      ? searchServers(run, organizationId, query.filter, LIMIT, 0)
      : searchCapabilities(run, organizationId, query.filter, LIMIT, 0);
  return { search, ran };
};

const TRIGRAM_INDEXES = [
  "McpServer_name_trgm_idx",
  "McpServer_description_trgm_idx",
  "McpCapability_name_trgm_idx",
  "McpCapability_description_trgm_idx",
];

let stack: Stack;
let corpus: Corpus;
/** One dedicated connection for the SQL timings: no pool, no ORM, session settings of its own. */
let pg: Client;

beforeAll(async () => {
  stack = await startBenchStack();
  corpus = await ensureCorpus(stack, progress);
  pg = new Client({ connectionString: BENCH_DATABASE_URL });
  await pg.connect();
}, 600_000);
afterAll(async () => {
  await pg?.end();
  await stack?.close();
});

interface Measured {
  label: string;
  path: string;
  /** Items on the first page (REST). */
  items: number;
  rest: Summary;
  restErrors: number;
  /** The server's settings (JIT as configured, on by default in PostgreSQL 15). */
  sql: Summary;
  sqlNoJit: Summary;
  sqlRows: number;
  /** Statements the search ran: 1 when the walk filled the page, 2 when the ranked statement ran too. */
  statements: number;
  plan: string;
  trigramIndexes: string[];
}

/** Runs the search sequentially on the dedicated connection, REQUESTS times or MAX_MS, after a warm-up. */
async function timeSql(
  search: () => Promise<unknown[]>,
  jit: "default" | "off",
): Promise<{ summary: Summary; rows: number }> {
  await pg.query(jit === "off" ? "SET jit = off" : "RESET jit");
  let rows = 0;
  for (let i = 0; i < 3; i++) rows = (await search()).length;
  const times: number[] = [];
  const deadline = performance.now() + MAX_MS;
  while (times.length < REQUESTS && performance.now() < deadline) {
    const started = performance.now();
    await search();
    times.push(performance.now() - started);
  }
  await pg.query("RESET jit");
  return { summary: summarize(times), rows };
}

describe("discovery search at scale", () => {
  it("prints REST and SQL latency of representative searches over 10,000 servers and 200,000 capabilities", async () => {
    const measured: Measured[] = [];
    for (const query of QUERIES) {
      const search = new URLSearchParams({ ...query.filter, limit: String(LIMIT) });
      const path = `/v1/discovery/${query.route}?${search}`;
      const headers = { authorization: `Bearer ${corpus.apiKey}` };

      const first = await fetch(`${stack.url}${path}`, { headers });
      expect(first.status).toBe(200);
      const items = ((await first.json()) as { items: unknown[] }).items.length;

      const rest = await runLoad({
        url: `${stack.url}${path}`,
        method: "GET",
        headers,
        concurrency: 1,
        warmupMs: 300,
        durationMs: MAX_MS,
        maxRequests: REQUESTS,
        expectStatus: 200,
      });
      const { search: runSearch, ran } = searchOf(query, corpus.organizationId);
      const timedSql = await timeSql(runSearch, "default");
      const noJit = await timeSql(runSearch, "off");
      ran.length = 0;
      await runSearch();
      const statements = [...ran];
      const plans: string[] = [];
      for (const statement of statements) {
        const explained = await pg.query<{ "QUERY PLAN": string }>(
          `EXPLAIN (ANALYZE, BUFFERS) ${statement.text}`,
          statement.values,
        );
        plans.push(explained.rows.map((r) => r["QUERY PLAN"]).join("\n"));
      }
      const plan = plans.join("\n\n");
      measured.push({
        label: query.label,
        path,
        items,
        rest: rest.latency,
        restErrors: rest.errors,
        sql: timedSql.summary,
        sqlNoJit: noJit.summary,
        sqlRows: timedSql.rows,
        statements: statements.length,
        plan,
        trigramIndexes: TRIGRAM_INDEXES.filter((index) => plan.includes(index)),
      });
      progress(
        `${query.label}: REST p50 ${rest.latency.p50.toFixed(1)} ms, SQL p50 ${timedSql.summary.p50.toFixed(1)} ms ` +
          `(jit off ${noJit.summary.p50.toFixed(1)} ms)`,
      );
    }

    printTable(
      `discovery search: ${CORPUS_SERVERS.toLocaleString("en-US")} servers, ${CORPUS_CAPABILITIES.toLocaleString("en-US")} capabilities, one organization, limit ${LIMIT}`,
      [
        "query",
        "items",
        "REST n",
        "REST p50",
        "REST p95",
        "SQL p50",
        "SQL p95",
        "SQL jit=off p50",
        "REST ÷ SQL (p50)",
        "statements",
        "trigram indexes in plan",
      ],
      measured.map((m) => [
        m.label,
        m.items,
        m.rest.count,
        m.rest.p50,
        m.rest.p95,
        m.sql.p50,
        m.sql.p95,
        m.sqlNoJit.p50,
        (m.rest.p50 / m.sql.p50).toFixed(1),
        m.statements === 1 ? "walk" : "walk+ranked",
        m.trigramIndexes.map((i) => i.replace(/^Mcp/, "").replace(/_trgm_idx$/, "")).join(", ") || "none",
      ]),
      "ms. REST: GET through the gateway, one request at a time from a child process (auth, limits, gateway, subgraph,\n" +
        "search + row loads). SQL: the repository's search alone (the walk, then the ranked statement when the walk\n" +
        "cannot fill the page: see statements), on one pg connection, with the server's settings (JIT on,\n" +
        "PostgreSQL's default) and with SET jit = off.\n" +
        conditionsNote(),
    );
    const slowest = measured.reduce((a, b) => (b.sql.p50 > a.sql.p50 ? b : a));
    printText(`EXPLAIN (ANALYZE, BUFFERS) of the slowest search SQL: ${slowest.label}`, slowest.plan);
    const file = await writeResults("search", {
      corpus: {
        servers: CORPUS_SERVERS,
        capabilities: CORPUS_CAPABILITIES,
        seeded: corpus.seeded,
        seedMs: corpus.seedMs,
      },
      limit: LIMIT,
      requestsPerQuery: REQUESTS,
      results: measured,
    });
    progress(`written ${file}`);
    for (const m of measured) expect(m.restErrors).toBe(0);
  });
});
