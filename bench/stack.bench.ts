import { createOrganization } from "@sprintconnect/admin-subgraph";
import {
  createKeyRing,
  createPrisma,
  createRedis,
  effectiveScopes,
  INTERNAL_TOKEN_HEADER,
  InternalTokenSigner,
  type KeyRing,
  type PrismaClient,
  parseEnv,
  type Redis,
  readAccessEpoch,
  resolveAppDatabaseUrl,
  resolveKeys,
  subgraphEnvSchema,
} from "@sprintconnect/core";
import { ROUTES } from "@sprintconnect/gateway";
import { type LoadResult, type LoadSpec, runLoad } from "./support/load";
import { type ProcessStack, postgresBackends, processCpuMs, startProcessStack } from "./support/process-stack";
import { conditions, conditionsNote, printTable, writeResults } from "./support/report";
import { progress } from "./support/stack";

/**
 * The read path as `npm start` runs it: every service its own process, the load from another.
 * For each request the same rows are read four ways, in one run: straight from PostgreSQL with
 * `pg` (the floor), from the registry subgraph directly (as the gateway calls it, with an
 * internal token), through the gateway's GraphQL and through its REST layer. CPU per request
 * of each process comes from /proc before and after each run; figures are compared as ratios
 * within the run, beside the load average. STACK_BENCH_SECONDS shortens or lengthens each run;
 * STACK_BENCH_ONLY (a regular expression on "request / path") runs a subset; CPU_PROF_DIR
 * writes a `--cpu-prof` profile of every process (see process-stack.ts).
 */
const CONCURRENCY = 10;
const WARMUP_MS = 2_000;
/** At least this many requests before measuring, so every process's hot code is optimized... */
const WARMUP_REQUESTS = 1_000;
/** ...unless the machine is too busy to serve them in this long. */
const MAX_WARMUP_MS = 20_000;
const DURATION_MS = Number(process.env.STACK_BENCH_SECONDS ?? 10) * 1000;
const MAX_REQUESTS = 1_000_000;
/** Ten rows at most, each its warm-up, its run and the generator's start-up. */
const RUN_TIMEOUT_MS = 10 * (MAX_WARMUP_MS + DURATION_MS + 10_000) + 60_000;
const SERVERS = 20;
const ONLY = process.env.STACK_BENCH_ONLY ? new RegExp(process.env.STACK_BENCH_ONLY) : null;

const SERVER_SELECTION = "id name baseUrl tags environment health { status lastCheckedAt latencyMs }";
// The columns those fields read, the list's filter and order (server.repository.ts `list`), one extra row for the cursor.
const PG_COLUMNS = `"id", "name", "baseUrl", "tags", "environment", "healthStatus", "lastHealthCheckAt", "healthLatencyMs"`;

/** The processes whose CPU is read around every run; "postgres" is the backends of the bench database. */
const PROCESSES = ["gateway", "registry", "chat", "metrics", "admin", "worker", "scheduler", "postgres"] as const;

let stack: ProcessStack;
let db: PrismaClient;
let keys: KeyRing;
let org: { organizationId: string; ownerId: string; ownerKey: string };
let serverId: string;
let appDatabaseUrl: string;
let redis: Redis;

beforeAll(async () => {
  stack = await startProcessStack();
  // The same keys, pepper and application role as the children (the dev keys in .sprintconnect/).
  const env = parseEnv(subgraphEnvSchema, { ...process.env, ...stack.env });
  const material = resolveKeys(env);
  keys = await createKeyRing(material.jwtPrivateJwk);
  appDatabaseUrl = resolveAppDatabaseUrl(env);
  db = createPrisma({ DATABASE_URL: appDatabaseUrl, DATABASE_POOL_SIZE: 2, DATABASE_MAX_OVERFLOW: 0 });
  redis = createRedis(env.REDIS_URL, "bench-stack");
  const unique = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  org = await createOrganization(db, material.apiKeyPepper, {
    name: `Bench stack ${unique}`,
    ownerEmail: `owner-${unique}@example.test`,
  }).then((o) => ({ organizationId: o.organizationId, ownerId: o.userId, ownerKey: o.apiKey }));
  // One more than a page, so the list has a next cursor as in real use. Inactive: the scheduler
  // neither checks nor discovers them, so the worker adds no load of its own to the runs.
  await db.mcpServer.createMany({
    data: Array.from({ length: SERVERS + 1 }, (_, i) => ({
      organizationId: org.organizationId,
      name: `bench-stack-${i}`,
      baseUrl: `https://mcp${i}.example.test/mcp`,
      tags: ["bench", `t${i % 4}`],
      environment: i % 2 ? "production" : "development",
      status: "inactive",
      createdAt: new Date(Date.now() - i * 1000),
    })),
  });
  serverId = (
    await db.mcpServer.findFirstOrThrow({ where: { organizationId: org.organizationId, name: "bench-stack-0" } })
  ).id;
}, 300_000);
afterAll(async () => {
  await db?.$disconnect();
  redis?.disconnect();
  await stack?.stop();
});

interface Path {
  label: string;
  spec: Omit<LoadSpec, "concurrency" | "warmupMs" | "durationMs" | "maxRequests">;
  /** Refreshes what expires (the internal token) just before the run. */
  prepare?: () => Promise<void>;
}

interface Row extends LoadResult {
  request: string;
  path: string;
  /** CPU ms per request, by process, and of the load generator. */
  cpuPerRequest: Record<string, number>;
  loadAverage: number[];
}

describe("the stack as npm start runs it", () => {
  it(
    "prints raw pg, the registry subgraph, gateway GraphQL and REST side by side, with CPU per request of each process",
    async () => {
      // The principal the gateway sends for the owner (as for a JWT: no key to look up).
      const principal = {
        organizationId: org.organizationId,
        userId: org.ownerId,
        apiKeyId: null,
        role: "owner" as const,
        scopes: effectiveScopes("owner"),
        authMethod: "jwt" as const,
      };
      const subgraphHeaders: Record<string, string> = { "content-type": "application/json" };
      const refreshToken = async () => {
        // Tokens live two minutes; a new signer signs a new one (the signer caches per principal).
        // With the organization's access epoch, as the gateway signs it (read in its rate-limit
        // script): the registry may reuse the policies it read under that epoch.
        const accessEpoch = await readAccessEpoch(redis, org.organizationId);
        subgraphHeaders[INTERNAL_TOKEN_HEADER] = await new InternalTokenSigner(keys).sign({
          ...principal,
          accessEpoch,
        });
      };
      await refreshToken();
      const gatewayHeaders = { authorization: `Bearer ${org.ownerKey}`, "content-type": "application/json" };
      const graphql = (query: string, variables?: Record<string, unknown>) => JSON.stringify({ query, variables });
      const subgraph = (query: string, variables?: Record<string, unknown>, label = "registry subgraph"): Path => ({
        label,
        prepare: refreshToken,
        spec: {
          url: stack.subgraphUrls.registry,
          method: "POST",
          headers: subgraphHeaders,
          body: graphql(query, variables),
          expectStatus: 200,
        },
      });
      const gateway = (query: string, variables?: Record<string, unknown>): Path => ({
        label: "gateway GraphQL",
        spec: {
          url: `${stack.url}/graphql`,
          method: "POST",
          headers: gatewayHeaders,
          body: graphql(query, variables),
          expectStatus: 200,
        },
      });
      const rest = (path: string): Path => ({
        label: "gateway REST",
        spec: {
          url: `${stack.url}${path}`,
          method: "GET",
          headers: { authorization: gatewayHeaders.authorization },
          expectStatus: 200,
        },
      });
      const pg = (name: string, text: string, values: unknown[], expectRows: number): Path => ({
        label: "raw pg",
        spec: { pg: { connectionString: appDatabaseUrl, name, text, values, expectRows } },
      });

      const LIST = `query List { mcpServers(limit: ${SERVERS}) { items { ${SERVER_SELECTION} } nextCursor } }`;
      const ONE = `query One($id: ID!) { mcpServer(id: $id) { ${SERVER_SELECTION} } }`;
      const TYPENAME = "{ __typename }";
      const listDirect = subgraph(LIST);
      const listGateway = gateway(LIST);
      const listRest = rest(`/v1/mcp/servers?limit=${SERVERS}`);
      // What the REST routes read (the route's own document, every server field), asked of the
      // registry directly: the same read as the REST row, to tell the gateway's share from the fields'.
      const routeDocument = (operationId: string) =>
        ROUTES.find((r) => r.operationId === operationId)?.document as string;
      const REST_READ = "registry subgraph, REST document";
      const listRestDirect = subgraph(routeDocument("listMcpServers"), { limit: SERVERS }, REST_READ);
      const oneRestDirect = subgraph(routeDocument("getMcpServer"), { id: serverId }, REST_READ);
      const oneDirect = subgraph(ONE, { id: serverId });
      const oneGateway = gateway(ONE, { id: serverId });
      const typenameDirect = subgraph(TYPENAME);
      const typenameGateway = gateway(TYPENAME);
      const requests: Array<{ request: string; paths: Path[] }> = [
        {
          request: `mcpServers(limit: ${SERVERS})`,
          paths: [
            pg(
              "bench_list",
              `SELECT ${PG_COLUMNS} FROM "McpServer" WHERE "organizationId" = $1 AND "deletedAt" IS NULL ORDER BY "createdAt" DESC, "id" DESC LIMIT $2`,
              [org.organizationId, SERVERS + 1],
              SERVERS + 1,
            ),
            listDirect,
            listGateway,
            listRestDirect,
            listRest,
          ],
        },
        {
          request: "mcpServer(id)",
          paths: [
            pg(
              "bench_one",
              `SELECT ${PG_COLUMNS} FROM "McpServer" WHERE "id" = $1 AND "organizationId" = $2 AND "deletedAt" IS NULL`,
              [serverId, org.organizationId],
              1,
            ),
            oneDirect,
            oneGateway,
            oneRestDirect,
            rest(`/v1/mcp/servers/${serverId}`),
          ],
        },
        { request: "{ __typename }", paths: [typenameDirect, typenameGateway] },
      ];

      // Each HTTP path answers correctly (and alike) before it is loaded.
      const answer = async (path: Path) => {
        await path.prepare?.();
        const response = await fetch(path.spec.url as string, {
          method: path.spec.method,
          headers: path.spec.headers,
          ...(path.spec.body ? { body: path.spec.body } : {}),
        });
        expect(response.status).toBe(200);
        return (await response.json()) as { data?: Record<string, unknown>; errors?: unknown; items?: unknown[] };
      };
      const list = await answer(listDirect);
      expect(list.errors).toBeUndefined();
      expect((list.data?.mcpServers as { items: unknown[] } | undefined)?.items).toHaveLength(SERVERS);
      expect((await answer(listGateway)).data).toEqual(list.data);
      const listRestAnswer = await answer(listRest);
      expect(listRestAnswer.items).toHaveLength(SERVERS);
      expect((await answer(listRestDirect)).data?.mcpServers).toEqual(listRestAnswer);
      const one = await answer(oneDirect);
      expect((one.data?.mcpServer as { id: string } | undefined)?.id).toBe(serverId);
      expect((await answer(oneGateway)).data).toEqual(one.data);
      expect((await answer(typenameDirect)).data).toEqual({ __typename: "Query" });
      expect((await answer(typenameGateway)).data).toEqual({ __typename: "Query" });

      const database = new URL(appDatabaseUrl).pathname.slice(1);
      const cpuNow = () => {
        const byProcess: Record<string, number> = {};
        for (const name of PROCESSES)
          if (name !== "postgres") byProcess[name] = processCpuMs(stack.pids[name] as number);
        const backends = new Map(postgresBackends(database).map((pid) => [pid, processCpuMs(pid)]));
        return { byProcess, backends };
      };

      const rows: Row[] = [];
      for (const { request, paths } of requests) {
        for (const path of paths) {
          if (ONLY && !ONLY.test(`${request} / ${path.label}`)) continue;
          await path.prepare?.();
          progress(
            `${request} / ${path.label}: ${CONCURRENCY} connections, warm-up ${WARMUP_MS / 1000} s and ${WARMUP_REQUESTS} requests (at most ${MAX_WARMUP_MS / 1000} s), then ${DURATION_MS / 1000} s`,
          );
          let before: ReturnType<typeof cpuNow> | undefined;
          let after: ReturnType<typeof cpuNow> | undefined;
          const result = await runLoad(
            {
              ...path.spec,
              concurrency: CONCURRENCY,
              warmupMs: WARMUP_MS,
              warmupRequests: WARMUP_REQUESTS,
              maxWarmupMs: MAX_WARMUP_MS,
              durationMs: DURATION_MS,
              maxRequests: MAX_REQUESTS,
            },
            {
              measuring: () => {
                before = cpuNow();
              },
              done: () => {
                after = cpuNow();
              },
            },
          );
          const cpuPerRequest: Record<string, number> = { client: result.clientCpuMs / result.requests };
          if (before && after) {
            for (const name of Object.keys(after.byProcess)) {
              cpuPerRequest[name] =
                ((after.byProcess[name] as number) - (before.byProcess[name] as number)) / result.requests;
            }
            let postgres = 0;
            for (const [pid, ms] of after.backends) postgres += ms - (before.backends.get(pid) ?? 0);
            cpuPerRequest.postgres = postgres / result.requests;
          }
          rows.push({ request, path: path.label, ...result, cpuPerRequest, loadAverage: conditions().loadAverage });
          if (result.errors > 0) progress(`${path.label}: ${result.errors} errors, first: ${result.firstError}`);
        }
      }

      const rpsOf = (request: string, path: string) => rows.find((r) => r.request === request && r.path === path)?.rps;
      const ratio = (row: Row) => {
        const direct = rpsOf(row.request, "registry subgraph");
        if (row.path === "raw pg") return "-";
        if (row.path === "gateway REST") {
          const read = rpsOf(row.request, REST_READ);
          const own = direct ? (row.rps / direct).toFixed(2) : "-";
          return read ? `${own} (${(row.rps / read).toFixed(2)} of its read)` : own;
        }
        if (row.path === "registry subgraph") {
          const floor = rpsOf(row.request, "raw pg");
          return floor ? `${(row.rps / floor).toFixed(2)} of pg` : "-";
        }
        return direct ? (row.rps / direct).toFixed(2) : "-";
      };
      const cpu = (row: Row, name: string) => {
        const value = row.cpuPerRequest[name];
        return value === undefined || Number.isNaN(value) ? "-" : value.toFixed(2);
      };
      const shown = ["client", "gateway", "registry", "postgres"];
      const others = ["chat", "metrics", "admin", "worker", "scheduler"];
      printTable(
        `the stack as npm start runs it: ${CONCURRENCY} concurrent keep-alive connections, ${DURATION_MS / 1000} s per row`,
        [
          "request / path",
          "req/s",
          "p50 ms",
          "p99 ms",
          "errors",
          "× subgraph",
          ...shown.map((n) => `${n} cpu ms/req`),
          "others cpu ms/req",
          "load avg 1m",
        ],
        rows.map((r) => [
          `${r.request} / ${r.path}`,
          r.rps,
          r.latency.p50,
          r.latency.p99,
          r.errors,
          ratio(r),
          ...shown.map((n) => cpu(r, n)),
          others.reduce((sum, n) => sum + (r.cpuPerRequest[n] ?? 0), 0).toFixed(3),
          r.loadAverage[0],
        ]),
        "Every service is its own process, started by the `start` command's Supervisor from the built dist entry points;\n" +
          "the client is another process (bench/support/load-generator.mjs; raw pg: a `pg` pool of the same size, one named\n" +
          "prepared statement per request). `× subgraph`: req/s over the registry subgraph's in the same run (its own row:\n" +
          "over raw pg). CPU ms/req: each process's utime+stime (/proc) over the measured phase ÷ requests; postgres = the\n" +
          "bench database's backends; others = chat, metrics, admin, worker, scheduler together. REST answers the route's\n" +
          'full fragment (every server field), GraphQL the 6 fields asked; "registry subgraph, REST document" sends the\n' +
          "route's own document to the registry directly (its ratio: over the 6-field direct read), and REST's \"of its\n" +
          'read" is over that row.\n' +
          conditionsNote(),
      );
      const file = await writeResults("stack", {
        concurrency: CONCURRENCY,
        warmupMs: WARMUP_MS,
        durationMs: DURATION_MS,
        servers: SERVERS,
        queries: { list: LIST, one: ONE, typename: TYPENAME },
        rows,
      });
      progress(`written ${file}`);
    },
    RUN_TIMEOUT_MS,
  );
});
