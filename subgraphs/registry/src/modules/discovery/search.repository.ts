import { type CompiledPolicies, type Db, Prisma } from "@sprintconnect/core";

export interface ServerSearch {
  capability?: string | null;
  tag?: string | null;
  environment?: string | null;
  health?: string | null;
  q?: string | null;
}

export interface CapabilitySearch {
  name?: string | null;
  kind?: string | null;
  serverId?: string | null;
  q?: string | null;
}

/** Runs one statement and returns its rows: Prisma's `$queryRaw` here, a plain pg connection in the bench. */
export type RunSql = <T>(statement: Prisma.Sql) => Promise<T[]>;

/** The caller's text with LIKE's wildcards (`%`, `_`) and escape (`\`) taken literally. */
const literal = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);
/** `%text%` for ILIKE. */
const contains = (text: string) => `%${literal(text)}%`;
/** `text%` for LIKE against the lower-cased `nameKey` (lower-cased by PostgreSQL's `lower`, like the key). */
const startsWith = (text: string) => Prisma.sql`lower(${`${literal(text)}%`})`;

/** Health statuses in result order: healthy servers first, then degraded, unknown, auth_required, unhealthy. */
export const HEALTH_ORDER = ["healthy", "degraded", "unknown", "auth_required", "unhealthy"] as const;
const HEALTH_RANK = Prisma.sql`CASE s."healthStatus" WHEN 'healthy' THEN 0 WHEN 'degraded' THEN 1 WHEN 'unknown' THEN 2 WHEN 'auth_required' THEN 3 ELSE 4 END`;

/**
 * Rows (after the filters that need no text match) a walk looks at before it gives the page up
 * to the ranked statement: enough for a text that matches one row in ten to fill a first page.
 */
export function walkRows(limit: number, offset: number): number {
  return Math.max(200, 10 * (offset + limit + 1));
}

const and = (parts: Prisma.Sql[]) => Prisma.join(parts, " AND ");

/**
 * Discovery search for agents: only live, active servers and current, enabled capabilities of
 * the caller's organization that are not waiting for review. Text filters are case-insensitive
 * substrings (ILIKE, served by the trigram indexes), with `%` and `_` taken literally.
 *
 * Results are ordered by health status (healthy first), then by name, then id: an order that
 * indexes hold, so a page is found by walking the first status's rows in that order and
 * stopping once the page is full ("the walk"). Only when the walk cannot fill the page (a rare
 * text, a last page, a page beyond the first status) does the ranked statement run, which
 * collects the matches through the trigram indexes and sorts them.
 */
export class SearchRepository {
  private readonly run: RunSql;

  constructor(private readonly db: Db) {
    this.run = <T>(statement: Prisma.Sql) => db.$queryRaw<T[]>(statement);
  }

  /** Ids of matching servers, ranked, `limit + 1` from `offset`. */
  servers(
    organizationId: string,
    f: ServerSearch,
    limit: number,
    offset: number,
    policies?: CompiledPolicies,
  ): Promise<string[]> {
    return searchServers(this.run, organizationId, f, limit, offset, policies);
  }

  /** (capability id, server id) of matching capabilities, ranked, `limit + 1` from `offset`. */
  capabilities(
    organizationId: string,
    f: CapabilitySearch,
    limit: number,
    offset: number,
    policies?: CompiledPolicies,
  ): Promise<Array<{ id: string; serverId: string }>> {
    return searchCapabilities(this.run, organizationId, f, limit, offset, policies);
  }

  /** Servers the filters match that the caller's policies or the server's status exclude (`explain`). */
  serverExclusions(organizationId: string, f: ServerSearch, policies: CompiledPolicies, max: number) {
    return this.run<ExcludedServerRow>(serverExclusionsQuery(organizationId, f, policies, max));
  }

  /** Capabilities the filters match that policies, review, `enabled` or the server's status exclude (`explain`). */
  capabilityExclusions(organizationId: string, f: CapabilitySearch, policies: CompiledPolicies, max: number) {
    return this.run<ExcludedCapabilityRow>(capabilityExclusionsQuery(organizationId, f, policies, max));
  }

  capabilitiesByIds(ids: string[]) {
    return this.db.mcpCapability.findMany({ where: { id: { in: ids } } });
  }
}

/** The walk's page when it is full (`limit + 1` rows), else the ranked statement's. */
async function walkThenRank<T>(run: RunSql, walk: Prisma.Sql | null, ranked: Prisma.Sql, limit: number): Promise<T[]> {
  if (walk) {
    const page = await run<T>(walk);
    if (page.length > limit) return page;
  }
  return run<T>(ranked);
}

/** Ids of matching servers, `limit + 1` from `offset`, in search order. */
export async function searchServers(
  run: RunSql,
  organizationId: string,
  f: ServerSearch,
  limit: number,
  offset: number,
  policies?: CompiledPolicies,
): Promise<string[]> {
  const rows = await walkThenRank<{ id: string }>(
    run,
    serversWalk(organizationId, f, limit, offset, policies),
    serversQuery(organizationId, f, limit, offset, policies),
    limit,
  );
  return rows.map((r) => r.id);
}

/** (capability id, server id) of matching capabilities, `limit + 1` from `offset`, in search order. */
export function searchCapabilities(
  run: RunSql,
  organizationId: string,
  f: CapabilitySearch,
  limit: number,
  offset: number,
  policies?: CompiledPolicies,
): Promise<Array<{ id: string; serverId: string }>> {
  return walkThenRank(
    run,
    capabilitiesWalk(organizationId, f, limit, offset, policies),
    capabilitiesQuery(organizationId, f, limit, offset, policies),
    limit,
  );
}

/** A capability agents may see: current, enabled, not waiting for review (a changed definition waits). */
const LIVE_CAPABILITY = Prisma.sql`c."removedAt" IS NULL AND c.enabled AND NOT c."reviewRequired"`;

/** The caller's `discover` policies over a server row aliased `s` (TRUE when none restrict). */
const SERVER_COLUMNS = { serverId: Prisma.sql`s.id`, tags: Prisma.sql`s.tags`, environment: Prisma.sql`s.environment` };
/** The same over a capability `c` and its server `s` (the server's id read from the capability). */
const CAPABILITY_COLUMNS = {
  serverId: Prisma.sql`c."serverId"`,
  tags: Prisma.sql`s.tags`,
  environment: Prisma.sql`s.environment`,
  nameKey: Prisma.sql`c."nameKey"`,
  kind: Prisma.sql`c.kind`,
};

/**
 * Filters of a server that need no text match, the caller's policies among them: a condition
 * on the row's own columns, tested as the walk reads the index, so it costs no extra pass.
 */
function serverFilters(organizationId: string, f: ServerSearch, policies?: CompiledPolicies): Prisma.Sql[] {
  const where = [
    Prisma.sql`s."organizationId" = ${organizationId}::uuid`,
    Prisma.sql`s."deletedAt" IS NULL`,
    Prisma.sql`s.status = 'active'`,
  ];
  if (policies?.restricts) where.push(policies.serverSql(SERVER_COLUMNS));
  return [...where, ...callerServerFilters(f)];
}

/** The caller's own server filters that need no text match (environment, health, tag). */
function callerServerFilters(f: ServerSearch): Prisma.Sql[] {
  const where: Prisma.Sql[] = [];
  if (f.environment) where.push(Prisma.sql`s.environment = ${f.environment}::"McpEnvironment"`);
  if (f.health) where.push(Prisma.sql`s."healthStatus" = ${f.health}::"HealthStatus"`);
  if (f.tag) where.push(Prisma.sql`${f.tag.toLowerCase()} = ANY(s.tags)`);
  return where;
}

/**
 * The capabilities a server search may match by name or text: live, and, when a policy that
 * applies to the caller names capabilities, those it lets the caller discover (`server` is the
 * alias of their server's row), so a server is never found through a capability hidden from the
 * caller.
 */
function discoverableCapability(policies: CompiledPolicies | undefined, server: Prisma.Sql): Prisma.Sql {
  if (!policies?.restricts || !policies.namesCapabilities) return LIVE_CAPABILITY;
  const columns = {
    ...CAPABILITY_COLUMNS,
    tags: Prisma.sql`${server}.tags`,
    environment: Prisma.sql`${server}.environment`,
  };
  return Prisma.sql`${LIVE_CAPABILITY} AND ${policies.capabilitySql(columns)}`;
}

/**
 * The text filters of a server search, for the walk: tested row by row (the capability side as
 * an EXISTS on that server's capabilities, which the (serverId, kind, name) index serves).
 */
function serverTextFilters(f: ServerSearch, policies?: CompiledPolicies): Prisma.Sql[] {
  const where: Prisma.Sql[] = [];
  const live = discoverableCapability(policies, Prisma.sql`s`);
  const hasCapability = (match: Prisma.Sql) =>
    Prisma.sql`EXISTS (SELECT 1 FROM "McpCapability" c WHERE c."serverId" = s.id AND ${live} AND ${match})`;
  if (f.capability) where.push(hasCapability(Prisma.sql`c.name ILIKE ${contains(f.capability)}`));
  if (f.q) {
    const q = contains(f.q);
    where.push(Prisma.sql`(s.name ILIKE ${q} OR s.description ILIKE ${q}
      OR ${hasCapability(Prisma.sql`(c.name ILIKE ${q} OR c.description ILIKE ${q})`)})`);
  }
  return where;
}

/**
 * The walk over servers: the first status in result order (the filter's, or healthy) in name
 * order through the (organizationId, healthStatus, name, id) index, at most `walkRows` of them,
 * the text filters tested on each until the page is full.
 */
export function serversWalk(
  organizationId: string,
  f: ServerSearch,
  limit: number,
  offset: number,
  policies?: CompiledPolicies,
): Prisma.Sql {
  const where = serverFilters(organizationId, f, policies);
  if (!f.health) where.push(Prisma.sql`s."healthStatus" = ${HEALTH_ORDER[0]}::"HealthStatus"`);
  const text = serverTextFilters(f, policies);
  return Prisma.sql`
      SELECT s.id FROM (
        SELECT s.id, s.name, s.description, s.tags, s.environment FROM "McpServer" s WHERE ${and(where)}
        ORDER BY s.name, s.id LIMIT ${walkRows(limit, offset)}) s
      ${text.length > 0 ? Prisma.sql`WHERE ${and(text)}` : Prisma.empty}
      ORDER BY s.name, s.id
      LIMIT ${limit + 1} OFFSET ${offset}`;
}

/** The ranked server search statement: every match collected through the indexes, then sorted. */
export function serversQuery(
  organizationId: string,
  f: ServerSearch,
  limit: number,
  offset: number,
  policies?: CompiledPolicies,
): Prisma.Sql {
  const where = serverFilters(organizationId, f, policies);
  // Capabilities with their server's tags and environment when a policy decides per capability:
  // each match looks its server up by key (OFFSET 0, as in capabilitiesQuery: a plain join let
  // the planner hash every server of the organization, 7 → 49 ms for a text that matches nothing).
  const scoped = policies?.restricts && policies.namesCapabilities;
  const capabilityRows = scoped
    ? Prisma.sql`"McpCapability" c CROSS JOIN LATERAL
        (SELECT cs.tags, cs.environment FROM "McpServer" cs WHERE cs.id = c."serverId" OFFSET 0) cs`
    : Prisma.sql`"McpCapability" c`;
  const live = discoverableCapability(policies, Prisma.sql`cs`);
  if (f.capability) {
    where.push(Prisma.sql`s.id IN (SELECT c."serverId" FROM ${capabilityRows}
        WHERE c."organizationId" = ${organizationId}::uuid AND ${live} AND c.name ILIKE ${contains(f.capability)})`);
  }
  if (f.q) {
    const q = contains(f.q);
    // One set of server ids from the trigram indexes of both tables, not a test per server. One
    // branch per column: the planner then prices each trigram index scan against a sequential
    // scan on its own (with the OR together it scanned every server's name and description).
    const servers = (column: Prisma.Sql) =>
      Prisma.sql`SELECT m.id FROM "McpServer" m WHERE m."organizationId" = ${organizationId}::uuid AND ${column} ILIKE ${q}`;
    const capabilities = (column: Prisma.Sql) => Prisma.sql`SELECT c."serverId" FROM ${capabilityRows}
         WHERE c."organizationId" = ${organizationId}::uuid AND ${live} AND ${column} ILIKE ${q}`;
    where.push(Prisma.sql`s.id IN (
        ${servers(Prisma.sql`m.name`)} UNION ALL ${servers(Prisma.sql`m.description`)}
        UNION ALL ${capabilities(Prisma.sql`c.name`)} UNION ALL ${capabilities(Prisma.sql`c.description`)})`);
  }
  return Prisma.sql`
      SELECT s.id FROM "McpServer" s WHERE ${and(where)}
      ORDER BY ${HEALTH_RANK}, s.name, s.id
      LIMIT ${limit + 1} OFFSET ${offset}`;
}

/** Filters of a capability that its own row decides (the name filter by the caller). */
function capabilityFilters(organizationId: string, f: CapabilitySearch): Prisma.Sql[] {
  const where = [Prisma.sql`c."organizationId" = ${organizationId}::uuid`, LIVE_CAPABILITY];
  if (f.kind) where.push(Prisma.sql`c.kind = ${f.kind}::"CapabilityKind"`);
  if (f.serverId) where.push(Prisma.sql`c."serverId" = ${f.serverId}::uuid`);
  return where;
}

const LIVE_SERVER = [Prisma.sql`s."deletedAt" IS NULL`, Prisma.sql`s.status = 'active'`];
const qFilter = (q: string) => Prisma.sql`(c.name ILIKE ${contains(q)} OR c.description ILIKE ${contains(q)})`;

/**
 * The walk over capabilities: those in name-key order (the (organizationId[, kind], nameKey, id)
 * indexes), at most `walkRows`, joined to their server, kept when it is healthy and the text
 * matches. With a `name` filter it walks only the names that start with it (a range of the
 * index), which come first. None for one server's capabilities, which the ranked statement
 * finds through the (serverId, kind, name) index.
 */
export function capabilitiesWalk(
  organizationId: string,
  f: CapabilitySearch,
  limit: number,
  offset: number,
  policies?: CompiledPolicies,
): Prisma.Sql | null {
  if (f.serverId) return null;
  const inner = capabilityFilters(organizationId, f);
  if (f.name) inner.push(Prisma.sql`c."nameKey" LIKE ${startsWith(f.name)}`);
  const outer = [...LIVE_SERVER, Prisma.sql`s."healthStatus" = ${HEALTH_ORDER[0]}::"HealthStatus"`];
  if (policies?.restricts) outer.push(policies.capabilitySql(CAPABILITY_COLUMNS));
  if (f.q) outer.push(qFilter(f.q));
  return Prisma.sql`
      SELECT c.id, c."serverId" FROM (
        SELECT c.id, c."serverId", c.name, c.description, c."nameKey", c.kind FROM "McpCapability" c WHERE ${and(inner)}
        ORDER BY c."nameKey", c.id LIMIT ${walkRows(limit, offset)}) c
      JOIN "McpServer" s ON s.id = c."serverId"
      WHERE ${and(outer)}
      ORDER BY c."nameKey", c.id
      LIMIT ${limit + 1} OFFSET ${offset}`;
}

/**
 * The ranked capability search statement. Order: the server's health status, then (with a
 * `name` filter) names that start with it before names that only contain it, then the
 * lower-cased name in byte order, then id.
 */
export function capabilitiesQuery(
  organizationId: string,
  f: CapabilitySearch,
  limit: number,
  offset: number,
  policies?: CompiledPolicies,
): Prisma.Sql {
  const where = capabilityFilters(organizationId, f);
  if (policies?.restricts) where.push(policies.capabilitySql(CAPABILITY_COLUMNS));
  if (f.name) where.push(Prisma.sql`c.name ILIKE ${contains(f.name)}`);
  if (f.q) where.push(qFilter(f.q));
  const prefixFirst = f.name
    ? Prisma.sql`CASE WHEN c."nameKey" LIKE ${startsWith(f.name)} THEN 0 ELSE 1 END,`
    : Prisma.empty;
  // Each match looks its server up by primary key (OFFSET 0 keeps the planner from turning the
  // lookup into a hash of every server of the organization, which cost more than the matches).
  return Prisma.sql`
      SELECT c.id, c."serverId" FROM "McpCapability" c
      CROSS JOIN LATERAL (SELECT s."healthStatus", s.tags, s.environment FROM "McpServer" s WHERE s.id = c."serverId" AND ${and(LIVE_SERVER)} OFFSET 0) s
      WHERE ${and(where)}
      ORDER BY ${HEALTH_RANK}, ${prefixFirst} c."nameKey", c.id
      LIMIT ${limit + 1} OFFSET ${offset}`;
}

/** A server `explain` lists as excluded: its facts, for the evaluator to say which policy excluded it. */
export interface ExcludedServerRow {
  id: string;
  name: string;
  tags: string[];
  environment: string;
  status: string;
}

/** A capability `explain` lists as excluded, with its server's facts. */
export interface ExcludedCapabilityRow {
  id: string;
  name: string;
  kind: string;
  enabled: boolean;
  reviewRequired: boolean;
  serverId: string;
  serverName: string;
  tags: string[];
  environment: string;
  status: string;
}

/**
 * `explain`: the first `max` servers (by name) that the search's filters match but that an
 * inactive status or the caller's policies keep out. Not on the search's path: it runs only when
 * asked, through the same filters, with the exclusions negated.
 */
export function serverExclusionsQuery(
  organizationId: string,
  f: ServerSearch,
  policies: CompiledPolicies,
  max: number,
): Prisma.Sql {
  const where = [
    Prisma.sql`s."organizationId" = ${organizationId}::uuid`,
    Prisma.sql`s."deletedAt" IS NULL`,
    ...callerServerFilters(f),
    Prisma.sql`NOT (s.status = 'active' AND ${policies.serverSql(SERVER_COLUMNS)})`,
  ];
  const text = serverTextFilters(f, policies);
  return Prisma.sql`
      SELECT s.id, s.name, s.tags, s.environment::text AS environment, s.status::text AS status
        FROM "McpServer" s WHERE ${and([...where, ...text])}
       ORDER BY s.name, s.id LIMIT ${max}`;
}

/** `explain` for capabilities: matches that policies, review, `enabled` or an inactive server keep out. */
export function capabilityExclusionsQuery(
  organizationId: string,
  f: CapabilitySearch,
  policies: CompiledPolicies,
  max: number,
): Prisma.Sql {
  const where = [Prisma.sql`c."organizationId" = ${organizationId}::uuid`, Prisma.sql`c."removedAt" IS NULL`];
  if (f.kind) where.push(Prisma.sql`c.kind = ${f.kind}::"CapabilityKind"`);
  if (f.serverId) where.push(Prisma.sql`c."serverId" = ${f.serverId}::uuid`);
  if (f.name) where.push(Prisma.sql`c.name ILIKE ${contains(f.name)}`);
  if (f.q) where.push(qFilter(f.q));
  where.push(Prisma.sql`s."deletedAt" IS NULL`);
  where.push(Prisma.sql`NOT (c.enabled AND NOT c."reviewRequired" AND s.status = 'active'
      AND ${policies.capabilitySql(CAPABILITY_COLUMNS)})`);
  return Prisma.sql`
      SELECT c.id, c.name, c.kind::text AS kind, c.enabled, c."reviewRequired", s.id AS "serverId",
             s.name AS "serverName", s.tags, s.environment::text AS environment, s.status::text AS status
        FROM "McpCapability" c JOIN "McpServer" s ON s.id = c."serverId"
       WHERE ${and(where)}
       ORDER BY c."nameKey", c.id LIMIT ${max}`;
}
