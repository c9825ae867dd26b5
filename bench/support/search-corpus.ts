import { createOrganization } from "@sprintconnect/admin-subgraph";
import { generateApiKey, ROLE_SCOPES } from "@sprintconnect/core";
import { Client } from "pg";
import type { Stack } from "../../test/support/stack";
import { BENCH_DATABASE_URL } from "./env";

/** The one organization that holds the search corpus; found by name on later runs. */
export const CORPUS_ORGANIZATION = "Bench search corpus";
export const CORPUS_SERVERS = 10_000;
export const CAPABILITIES_PER_SERVER = 20;
export const CORPUS_CAPABILITIES = CORPUS_SERVERS * CAPABILITIES_PER_SERVER;

export interface Corpus {
  organizationId: string;
  /** A fresh owner API key for this run. */
  apiKey: string;
  /** false when an earlier run's corpus was complete and reused. */
  seeded: boolean;
  seedMs: number;
}

const sqlArray = (words: readonly string[]) => `ARRAY[${words.map((w) => `'${w}'`).join(",")}]`;

/** Products the servers front; a server is "<domain>-<role>-<seq>". */
const DOMAINS = [
  "weather",
  "github",
  "jira",
  "slack",
  "postgres",
  "stripe",
  "salesforce",
  "zendesk",
  "notion",
  "gmail",
  "calendar",
  "drive",
  "s3",
  "kubernetes",
  "datadog",
  "pagerduty",
  "confluence",
  "hubspot",
  "shopify",
  "twilio",
];
const ROLES = ["mcp", "tools", "connector", "bridge", "gateway", "proxy", "agent", "server"];
/** 10 verbs × 23 nouns: tool names repeat across servers (get_invoice on many), never within one. */
const VERBS = ["get", "list", "search", "create", "update", "delete", "summarize", "export", "sync", "validate"];
const NOUNS = [
  "forecast",
  "issue",
  "pull_request",
  "invoice",
  "customer",
  "ticket",
  "message",
  "channel",
  "table",
  "query",
  "payment",
  "refund",
  "subscription",
  "deployment",
  "pod",
  "alert",
  "incident",
  "page",
  "document",
  "event",
  "order",
  "product",
  "contact",
];
const TEAMS = ["payments", "platform", "support", "sales", "data", "security", "devops", "marketing"];
const COMPLIANCE = ["pci", "gdpr", "sox", "hipaa", "internal"];
const REGIONS = ["eu", "us", "apac"];
const PURPOSES = [
  "Read and update records, with pagination and filters",
  "Search, create and triage items for support agents",
  "Reporting and exports for analysts",
  "Operational actions for on-call engineers",
  "Customer-facing automations with audit trail",
  "Batch synchronisation between systems of record",
  "Read-only lookups for assistants",
  "Administrative tasks behind approval",
];
const DETAILS = [
  "Supports cursor pagination.",
  "Returns at most 100 rows.",
  "Idempotent when given a request key.",
  "Requires the write scope.",
  "Results are cached for five minutes.",
  "Accepts ISO 8601 dates.",
  "Streams progress notifications.",
  "Fails fast on invalid input.",
];

/** Deterministic pseudo-random 0..999 from an integer expression; each salt draws independently. */
const rnd = (expr: string, salt: number) => `(abs(hashint8((${expr})::bigint * 64 + ${salt})) % 1000)`;

/**
 * 10,000 servers: 50 % production, 30 % staging, 20 % development; health 60 % healthy,
 * 12 % degraded, 10 % unknown, 10 % unhealthy, 8 % auth_required; 3 % inactive, 2 % deleted;
 * 2-3 lower-case tags (team, compliance, sometimes region); 1 in 500 mentions SEPA.
 */
function serverInsert(): string {
  return `
INSERT INTO "McpServer" (id, "organizationId", name, description, "baseUrl", transport, environment, tags, metadata,
  status, "healthStatus", "lastHealthCheckAt", "healthLatencyMs", "discoveryStatus", "lastDiscoveredAt",
  "createdAt", "updatedAt", "deletedAt")
SELECT gen_random_uuid(), $1::uuid, v.name,
  initcap(v.domain) || ' MCP server: ' || (${sqlArray(PURPOSES)})[1 + i % ${PURPOSES.length}] || '.'
    || CASE WHEN i % 500 = 7 THEN ' Handles SEPA direct debit mandates.' ELSE '' END,
  'https://' || v.name || '.mcp.example.com/mcp',
  (CASE WHEN ${rnd("i", 1)} < 850 THEN 'streamable_http' ELSE 'sse' END)::"McpTransport",
  (CASE WHEN ${rnd("i", 2)} < 500 THEN 'production' WHEN ${rnd("i", 2)} < 800 THEN 'staging' ELSE 'development' END)::"McpEnvironment",
  ARRAY[(${sqlArray(TEAMS)})[1 + ${rnd("i", 3)} % ${TEAMS.length}], (${sqlArray(COMPLIANCE)})[1 + ${rnd("i", 4)} % ${COMPLIANCE.length}]]
    || CASE WHEN ${rnd("i", 5)} < 600 THEN ARRAY[(${sqlArray(REGIONS)})[1 + ${rnd("i", 6)} % ${REGIONS.length}]] ELSE ARRAY[]::text[] END,
  jsonb_build_object('benchSeq', i, 'owner', 'team-' || (i % 40)),
  (CASE WHEN ${rnd("i", 7)} < 30 THEN 'inactive' ELSE 'active' END)::"McpServerStatus",
  (CASE WHEN ${rnd("i", 8)} < 600 THEN 'healthy' WHEN ${rnd("i", 8)} < 720 THEN 'degraded'
        WHEN ${rnd("i", 8)} < 820 THEN 'unknown' WHEN ${rnd("i", 8)} < 920 THEN 'unhealthy'
        ELSE 'auth_required' END)::"HealthStatus",
  now() - (i % 300) * interval '1 second', 20 + ${rnd("i", 9)} % 400,
  'succeeded'::"DiscoveryStatus", now() - (i % 3600) * interval '1 second',
  now() - i * interval '1 minute', now() - i * interval '1 minute',
  CASE WHEN ${rnd("i", 10)} < 20 THEN now() ELSE NULL END
FROM generate_series(0, ${CORPUS_SERVERS - 1}) AS i,
LATERAL (SELECT (${sqlArray(DOMAINS)})[1 + i % ${DOMAINS.length}] AS domain) d,
LATERAL (SELECT d.domain || '-' || (${sqlArray(ROLES)})[1 + (i / ${DOMAINS.length}) % ${ROLES.length}] || '-' || lpad(i::text, 5, '0') AS name, d.domain) v`;
}

/**
 * 20 capabilities per server: 14 tools (verb_noun), 3 resources (URIs), 1 resource template,
 * 2 prompts; 2 % disabled, 3 % removed, 1 % flagged for review; 1 in 1,000 mentions SEPA.
 */
function capabilityInsert(): string {
  const verb = `(${sqlArray(VERBS)})[1 + j % ${VERBS.length}]`;
  const noun = `(${sqlArray(NOUNS)})[1 + (i + j) % ${NOUNS.length}]`;
  return `
INSERT INTO "McpCapability" (id, "organizationId", "serverId", kind, name, title, description, "inputSchema",
  definition, "definitionHash", enabled, "reviewRequired", "createdAt", "updatedAt", "removedAt")
SELECT gen_random_uuid(), s."organizationId", s.id, c.kind::"CapabilityKind", c.name, initcap(replace(c.name, '_', ' ')),
  c.description, c.schema,
  jsonb_build_object('name', c.name, 'description', c.description)
    || CASE WHEN c.schema IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('inputSchema', c.schema) END,
  encode(sha256(convert_to(c.name || c.description, 'UTF8')), 'hex'),
  ${rnd("i * 20 + j", 11)} >= 20, ${rnd("i * 20 + j", 12)} < 10, s."createdAt", s."createdAt",
  CASE WHEN ${rnd("i * 20 + j", 13)} < 30 THEN now() ELSE NULL END
FROM "McpServer" s
CROSS JOIN LATERAL (SELECT (s.metadata->>'benchSeq')::int AS i, split_part(s.name, '-', 1) AS domain) v
CROSS JOIN generate_series(0, ${CAPABILITIES_PER_SERVER - 1}) AS j
CROSS JOIN LATERAL (SELECT
  CASE WHEN j < 14 THEN 'tool' WHEN j < 17 THEN 'resource' WHEN j = 17 THEN 'resource_template' ELSE 'prompt' END AS kind,
  CASE WHEN j < 14 THEN ${verb} || '_' || ${noun}
       WHEN j < 17 THEN domain || '://' || replace(${noun}, '_', '-') || 's/recent'
       WHEN j = 17 THEN domain || '://' || replace(${noun}, '_', '-') || 's/{id}'
       ELSE (ARRAY['summarize_', 'draft_'])[j - 17] || ${noun} END AS name,
  CASE WHEN j < 14 THEN initcap(${verb}) || ' ' || replace(${noun}, '_', ' ') || ' records in ' || initcap(domain) || '. '
                        || (${sqlArray(DETAILS)})[1 + (i * 7 + j) % ${DETAILS.length}]
       WHEN j < 17 THEN 'Recent ' || replace(${noun}, '_', ' ') || ' items from ' || initcap(domain) || ', as JSON.'
       WHEN j = 17 THEN 'One ' || replace(${noun}, '_', ' ') || ' of ' || initcap(domain) || ' by id.'
       ELSE 'Prompt: ' || (ARRAY['summarize', 'draft a reply to'])[j - 17] || ' a ' || replace(${noun}, '_', ' ') || '.' END
    || CASE WHEN (i * 20 + j) % 1000 = 3 THEN ' Also handles SEPA payouts.' ELSE '' END AS description,
  CASE WHEN j < 14 THEN '{"type":"object","properties":{"query":{"type":"string"},"limit":{"type":"integer","minimum":1}},"required":["query"]}'::jsonb
       WHEN j >= 18 THEN '{"arguments":[{"name":"id","required":true}]}'::jsonb END AS schema
) c
WHERE s."organizationId" = $1::uuid`;
}

async function counts(stack: Stack, organizationId: string): Promise<{ servers: number; capabilities: number }> {
  const [row] = await stack.db.$queryRawUnsafe<Array<{ servers: bigint; capabilities: bigint }>>(
    `SELECT (SELECT count(*) FROM "McpServer" WHERE "organizationId" = $1::uuid) AS servers,
            (SELECT count(*) FROM "McpCapability" WHERE "organizationId" = $1::uuid) AS capabilities`,
    organizationId,
  );
  return { servers: Number(row?.servers ?? 0), capabilities: Number(row?.capabilities ?? 0) };
}

/** The corpus organization with its servers and capabilities, seeded unless a complete one exists. */
export async function ensureCorpus(stack: Stack, log: (text: string) => void): Promise<Corpus> {
  let organization = await stack.db.organization.findFirst({ where: { name: CORPUS_ORGANIZATION } });
  if (!organization) {
    const created = await createOrganization(stack.db, stack.apiKeyPepper, {
      name: CORPUS_ORGANIZATION,
      ownerEmail: "owner@bench-search.example.test",
    });
    organization = await stack.db.organization.findUniqueOrThrow({ where: { id: created.organizationId } });
  }
  const organizationId = organization.id;
  const owner = await stack.db.membership.findFirstOrThrow({ where: { organizationId, role: "owner" } });
  const key = generateApiKey(stack.apiKeyPepper);
  await stack.db.apiKey.create({
    data: {
      organizationId,
      userId: owner.userId,
      name: `bench ${new Date().toISOString()}`,
      prefix: key.prefix,
      hash: key.hash,
      scopes: [...ROLE_SCOPES.owner],
      // Short-lived: the bench database keeps one key per run, none usable later.
      expiresAt: new Date(Date.now() + 60 * 60_000),
    },
  });

  const present = await counts(stack, organizationId);
  if (present.servers === CORPUS_SERVERS && present.capabilities === CORPUS_CAPABILITIES) {
    log(`corpus present: ${present.servers} servers, ${present.capabilities} capabilities (seeding skipped)`);
    return { organizationId, apiKey: key.key, seeded: false, seedMs: 0 };
  }
  const started = performance.now();
  log(`seeding ${CORPUS_SERVERS} servers and ${CORPUS_CAPABILITIES} capabilities (found ${JSON.stringify(present)})`);
  // Deleting the servers cascades to their capabilities and history.
  await stack.db.$executeRawUnsafe(`DELETE FROM "McpServer" WHERE "organizationId" = $1::uuid`, organizationId);
  await stack.db.$executeRawUnsafe(serverInsert(), organizationId);
  await stack.db.$executeRawUnsafe(capabilityInsert(), organizationId);
  // Fresh statistics, or the planner guesses on an empty table's numbers; and vacuumed, as
  // autovacuum would leave them (it may be off on a shared server): a GIN index's pending list
  // merged (with 10,000 fresh rows in it the planner never picks the servers' trigram indexes),
  // the visibility map set. Only the owner may VACUUM and ANALYZE (the stack connects as the
  // application role, which would be skipped with a warning).
  const tableOwner = new Client({ connectionString: BENCH_DATABASE_URL });
  await tableOwner.connect();
  try {
    await tableOwner.query(`VACUUM ANALYZE "McpServer"`);
    await tableOwner.query(`VACUUM ANALYZE "McpCapability"`);
  } finally {
    await tableOwner.end();
  }
  const seeded = await counts(stack, organizationId);
  const seedMs = performance.now() - started;
  log(`seeded ${seeded.servers} servers and ${seeded.capabilities} capabilities in ${(seedMs / 1000).toFixed(1)} s`);
  return { organizationId, apiKey: key.key, seeded: true, seedMs };
}
