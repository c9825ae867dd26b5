import { randomUUID } from "node:crypto";
import {
  type CompiledPolicies,
  compilePolicies,
  generateApiKey,
  type PolicyRule,
  type PolicySet,
  ROLE_SCOPES,
} from "@sprintconnect/core";
import { type RunSql, searchCapabilities, searchServers } from "@sprintconnect/registry-subgraph";
import { Client } from "pg";
import type { Stack } from "../test/support/stack";
import { BENCH_DATABASE_URL } from "./support/env";
import { runLoad } from "./support/load";
import { conditions, conditionsNote, printTable, writeResults } from "./support/report";
import { CORPUS_CAPABILITIES, CORPUS_SERVERS, type Corpus, ensureCorpus } from "./support/search-corpus";
import { QUERIES, type Query } from "./support/search-queries";
import { progress, startBenchStack } from "./support/stack";
import { type Summary, summarize } from "./support/stats";

/**
 * Discovery search with access policies (issue 9): the same searches over the same corpus
 * (10,000 servers, 200,000 capabilities) without policies and with 100 policies in the
 * organization, in one run, reported as p95 ratios. The policy filter is part of the search's
 * SQL (packages/core/src/policy: the caller's applicable policies compiled into a condition the
 * walk tests as it reads the index), so the ratio is the cost of that condition.
 */

const REQUESTS = 100;
const MAX_MS = 10_000;
const LIMIT = 20;
const POLICIES = 100;

const TEAMS = ["payments", "platform", "support", "sales", "data", "security", "devops", "marketing"];
const COMPLIANCE = ["pci", "gdpr", "sox", "hipaa", "internal"];
const ENVIRONMENTS = ["production", "staging", "development"];
const PATTERNS = ["delete_*", "*_invoice", "export_*", "sync_*", "*customer*", "update_*"];

/**
 * 100 policies of every shape: most name other subjects (roles, users, keys that are not the
 * bench caller's), 20 apply to developers: denies by tag, environment and capability pattern,
 * and allows by team tags and environments (which decide under a closed default).
 */
function policies(serverIds: string[]): PolicyRule[] {
  const list: PolicyRule[] = [];
  const base = (i: number): PolicyRule => ({
    id: randomUUID(),
    name: `bench policy ${i}`,
    effect: "deny",
    actions: ["discover", "call_tool", "read"],
    subjectRoles: [],
    subjectUserIds: [],
    subjectApiKeyIds: [],
    serverIds: [],
    serverTags: [],
    environments: [],
    capabilityPatterns: [],
    capabilityKinds: [],
  });
  for (let i = 0; i < POLICIES; i++) {
    const p = base(i);
    const forDeveloper = i % 6 === 0 || i === 1 || i === 3 || i === 5; // 20 of 100
    if (forDeveloper) p.subjectRoles = ["developer"];
    else if (i % 3 === 0) p.subjectRoles = [["viewer", "admin"][i % 2] as string];
    else if (i % 3 === 1) p.subjectUserIds = [randomUUID(), randomUUID()];
    else p.subjectApiKeyIds = [randomUUID()];
    switch (i % 5) {
      case 0:
        p.serverTags = [COMPLIANCE[i % COMPLIANCE.length] as string];
        break;
      case 1:
        p.effect = "allow";
        p.serverTags = [TEAMS[i % TEAMS.length] as string, TEAMS[(i + 3) % TEAMS.length] as string];
        break;
      case 2:
        p.capabilityPatterns = [PATTERNS[i % PATTERNS.length] as string];
        p.capabilityKinds = ["tool"];
        break;
      case 3:
        p.effect = "allow";
        p.environments = [ENVIRONMENTS[i % 2] as string];
        break;
      default:
        p.serverIds = serverIds.slice((i * 10) % serverIds.length, ((i * 10) % serverIds.length) + 10);
    }
    list.push(p);
  }
  return list;
}

let stack: Stack;
let corpus: Corpus;
let pg: Client;

beforeAll(async () => {
  stack = await startBenchStack();
  corpus = await ensureCorpus(stack, progress);
  pg = new Client({ connectionString: BENCH_DATABASE_URL });
  await pg.connect();
}, 600_000);
afterAll(async () => {
  await pg?.query(`DELETE FROM "Policy" WHERE "organizationId" = $1::uuid`, [corpus?.organizationId]).catch(() => {});
  await pg?.end();
  await stack?.close();
});

const run = (async (statement: { text: string; values: unknown[] }) =>
  (await pg.query(statement.text, statement.values)).rows) as unknown as RunSql;

function search(query: Query, policies: CompiledPolicies | undefined) {
  return query.route === "servers"
    ? searchServers(run, corpus.organizationId, query.filter, LIMIT, 0, policies)
    : searchCapabilities(run, corpus.organizationId, query.filter, LIMIT, 0, policies);
}

/** The search on the dedicated connection, REQUESTS times or MAX_MS, after a warm-up. */
async function timeSql(query: Query, policies: CompiledPolicies | undefined): Promise<{ s: Summary; rows: number }> {
  let rows = 0;
  for (let i = 0; i < 3; i++) rows = (await search(query, policies)).length;
  const times: number[] = [];
  const deadline = performance.now() + MAX_MS;
  while (times.length < REQUESTS && performance.now() < deadline) {
    const started = performance.now();
    await search(query, policies);
    times.push(performance.now() - started);
  }
  return { s: summarize(times), rows: Math.min(rows, LIMIT) };
}

async function timeRest(path: string, key: string): Promise<Summary> {
  const res = await runLoad({
    url: `${stack.url}${path}`,
    method: "GET",
    headers: { authorization: `Bearer ${key}` },
    concurrency: 1,
    warmupMs: 300,
    durationMs: MAX_MS,
    maxRequests: REQUESTS,
    expectStatus: 200,
  });
  expect(res.errors).toBe(0);
  return res.latency;
}

describe("discovery search with access policies", () => {
  it("prints p95 without policies and with 100 policies (open and closed default), as ratios, in one run", async () => {
    const ids = (
      await pg.query<{ id: string }>(
        `SELECT id FROM "McpServer" WHERE "organizationId" = $1::uuid ORDER BY id LIMIT 1000`,
        [corpus.organizationId],
      )
    ).rows.map((r) => r.id);
    const rules = policies(ids);
    const developer = { role: "developer", userId: randomUUID(), apiKeyId: null };
    const open: PolicySet = { defaultAccess: "open", policies: rules };
    const closed: PolicySet = { defaultAccess: "closed", policies: rules };
    const openCompiled = compilePolicies(open, developer, "discover");
    const closedCompiled = compilePolicies(closed, developer, "discover");
    progress(`${openCompiled.applicable.length} of ${rules.length} policies apply to the bench caller`);

    // The same policies stored for the REST path: a developer's key (policies apply, default open)
    // against the owner's (none apply: the SQL is the search's without a policy condition).
    await pg.query(`DELETE FROM "Policy" WHERE "organizationId" = $1::uuid`, [corpus.organizationId]);
    for (const p of rules) {
      await pg.query(
        `INSERT INTO "Policy" (id, "organizationId", name, effect, actions, "subjectRoles", "subjectUserIds",
           "subjectApiKeyIds", "serverIds", "serverTags", environments, "capabilityPatterns", "capabilityKinds", "updatedAt")
         VALUES ($1, $2, $3, $4::"PolicyEffect", $5, $6, $7, $8, $9, $10, $11, $12, $13, now())`,
        [
          p.id,
          corpus.organizationId,
          p.name,
          p.effect,
          p.actions,
          p.subjectRoles,
          p.subjectUserIds,
          p.subjectApiKeyIds,
          p.serverIds,
          p.serverTags,
          p.environments,
          p.capabilityPatterns,
          p.capabilityKinds,
        ],
      );
    }
    const user = await stack.db.user.create({ data: { email: `bench-dev-${randomUUID()}@example.test` } });
    await stack.db.membership.create({
      data: { organizationId: corpus.organizationId, userId: user.id, role: "developer" },
    });
    const key = generateApiKey(stack.apiKeyPepper);
    await stack.db.apiKey.create({
      data: {
        organizationId: corpus.organizationId,
        userId: user.id,
        name: "bench developer",
        prefix: key.prefix,
        hash: key.hash,
        scopes: [...ROLE_SCOPES.developer],
      },
    });

    const rows: Array<Record<string, unknown>> = [];
    for (const query of QUERIES) {
      const none = await timeSql(query, undefined);
      const withOpen = await timeSql(query, openCompiled);
      const withClosed = await timeSql(query, closedCompiled);
      const path = `/v1/discovery/${query.route}?${new URLSearchParams({ ...query.filter, limit: String(LIMIT) })}`;
      const restNone = await timeRest(path, corpus.apiKey);
      const restOpen = await timeRest(path, key.key);
      rows.push({
        query: query.label,
        rows: [none.rows, withOpen.rows, withClosed.rows],
        sqlNone: none.s,
        sqlOpen: withOpen.s,
        sqlClosed: withClosed.s,
        restNone,
        restOpen,
      });
      progress(
        `${query.label}: SQL p95 ${none.s.p95.toFixed(1)} / open ${withOpen.s.p95.toFixed(1)} / closed ${withClosed.s.p95.toFixed(1)} ms; ` +
          `REST p95 ${restNone.p95.toFixed(1)} / ${restOpen.p95.toFixed(1)} ms`,
      );
    }
    const p95 = (r: Record<string, unknown>, k: string) => (r[k] as Summary).p95;
    printTable(
      `discovery search with ${POLICIES} policies (${openCompiled.applicable.length} apply to the caller): ${CORPUS_SERVERS.toLocaleString("en-US")} servers, ${CORPUS_CAPABILITIES.toLocaleString("en-US")} capabilities, limit ${LIMIT}`,
      [
        "query",
        "rows none/open/closed",
        "SQL p95 none",
        "SQL p95 open",
        "open ÷ none",
        "SQL p95 closed",
        "closed ÷ none",
        "REST p95 none",
        "REST p95 open",
        "REST open ÷ none",
      ],
      rows.map((r) => [
        r.query as string,
        (r.rows as number[]).join("/"),
        p95(r, "sqlNone"),
        p95(r, "sqlOpen"),
        (p95(r, "sqlOpen") / p95(r, "sqlNone")).toFixed(2),
        p95(r, "sqlClosed"),
        (p95(r, "sqlClosed") / p95(r, "sqlNone")).toFixed(2),
        p95(r, "restNone"),
        p95(r, "restOpen"),
        (p95(r, "restOpen") / p95(r, "restNone")).toFixed(2),
      ]),
      "ms. SQL: the registry's search alone on one pg connection; none = no policy condition, open = the\n" +
        "caller's applicable policies under an open default (denies only), closed = the same under a closed default\n" +
        "(allows and denies). REST: through the gateway, one request at a time; none = the owner's key (no policy\n" +
        "applies), open = a developer's key (the policies above apply; the policies are read per request).\n" +
        conditionsNote(),
    );
    const file = await writeResults("policy-search", {
      policies: POLICIES,
      applicable: openCompiled.applicable.length,
      limit: LIMIT,
      conditions: conditions(),
      results: rows,
    });
    progress(`written ${file}`);
  });
});
