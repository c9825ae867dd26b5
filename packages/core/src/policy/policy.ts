import { Prisma } from "@prisma/client";
import type { Db } from "../db/prisma";

/**
 * Access policies (docs/ARCHITECTURE.md, "Access policies"): the ONE place that decides whether a
 * caller may discover, call or read a server or a capability. A policy set is compiled for one
 * caller and one action into (a) an in-memory decision for a server or capability and (b) a SQL
 * condition over the same columns, which discovery search, server reads and the chat agent use.
 *
 * Rules: a policy applies when one of its subjects is the caller (its role, its user, its API key)
 * and its actions include the action. Its resource conditions each hold when their list is empty
 * or the row matches one entry (server id, tag, environment; capability name pattern, kind);
 * all must hold. Any applying deny that matches wins; else any applying allow that matches
 * allows; else the organization's default (`open` allows, `closed` refuses).
 *
 * Servers and capabilities: a question about a server (`read`, `discover` of servers) is
 * decided by the policies' server conditions. A deny with capability conditions denies only
 * those capabilities, never the whole server; an allow with capability conditions lets the server
 * be seen (to reach those capabilities). A question about a capability (`discover` of
 * capabilities, `call_tool`) needs both the server and the capability conditions to match.
 */

/** What a policy can allow or deny. */
export const POLICY_ACTIONS = ["discover", "call_tool", "read"] as const;
export type PolicyAction = (typeof POLICY_ACTIONS)[number];

export const POLICY_EFFECTS = ["allow", "deny"] as const;
export type PolicyEffect = (typeof POLICY_EFFECTS)[number];

/** Server environments and capability kinds a policy may name (the database enums' values). */
export const MCP_ENVIRONMENTS = ["development", "staging", "production"] as const;
export const CAPABILITY_KINDS = ["tool", "resource", "resource_template", "prompt"] as const;

/** What happens when no policy allows (and none denies). */
export const DEFAULT_ACCESS = ["open", "closed"] as const;
export type DefaultAccess = (typeof DEFAULT_ACCESS)[number];

/** A stored policy, as the evaluator reads it. */
export interface PolicyRule {
  id: string;
  name: string;
  effect: PolicyEffect;
  actions: readonly string[];
  subjectRoles: readonly string[];
  subjectUserIds: readonly string[];
  subjectApiKeyIds: readonly string[];
  serverIds: readonly string[];
  /** Lower-case, like servers' tags. */
  serverTags: readonly string[];
  environments: readonly string[];
  /** Glob patterns (`*` for any run of characters), matched case-insensitively against the name. */
  capabilityPatterns: readonly string[];
  capabilityKinds: readonly string[];
}

export interface PolicySet {
  defaultAccess: DefaultAccess;
  policies: readonly PolicyRule[];
}

/** Who asks: the principal's organization-level identity (role re-read per request). */
export interface PolicySubject {
  role: string;
  userId: string;
  apiKeyId: string | null;
}

export interface ServerFacts {
  id: string;
  tags: readonly string[];
  environment: string;
}

export interface CapabilityFacts {
  name: string;
  kind: string;
}

/** The outcome, with what decided it: a policy, or the organization's default. */
export interface PolicyDecision {
  allowed: boolean;
  /** The deny that refused, or the first allow that allowed; null when the default decided. */
  policy: { id: string; name: string; effect: PolicyEffect } | null;
  /** `policy`, or `default_open` / `default_closed`. */
  decidedBy: "policy" | "default_open" | "default_closed";
}

/** Columns the SQL condition is written over (for servers: id, tags, environment; plus the capability's). */
export interface PolicyColumns {
  serverId: Prisma.Sql;
  tags: Prisma.Sql;
  environment: Prisma.Sql;
  /** Lower-cased name (`"nameKey"`); needed for capability questions only. */
  nameKey?: Prisma.Sql;
  kind?: Prisma.Sql;
}

/** One caller's policies for one action. */
export interface CompiledPolicies {
  readonly action: PolicyAction;
  /** The policies that apply to the caller for this action. */
  readonly applicable: readonly PolicyRule[];
  /** False when no policy applies and the default is open: nothing to filter. */
  readonly restricts: boolean;
  /**
   * Whether an applicable policy names capabilities (patterns or kinds): only then can two
   * capabilities of one allowed server get different answers.
   */
  readonly namesCapabilities: boolean;
  server(server: ServerFacts): PolicyDecision;
  capability(server: ServerFacts, capability: CapabilityFacts): PolicyDecision;
  /** A SQL condition true for the servers `server` allows (TRUE when nothing restricts). */
  serverSql(columns: PolicyColumns): Prisma.Sql;
  /** A SQL condition true for the capabilities `capability` allows. */
  capabilitySql(columns: Required<PolicyColumns>): Prisma.Sql;
}

/** Whether one of the policy's subjects is the caller. */
export function policyAppliesTo(policy: PolicyRule, subject: PolicySubject): boolean {
  return (
    policy.subjectRoles.includes(subject.role) ||
    policy.subjectUserIds.includes(subject.userId) ||
    (subject.apiKeyId !== null && policy.subjectApiKeyIds.includes(subject.apiKeyId))
  );
}

/** Characters a capability name pattern may hold: those of tool names, and `*`. */
const PATTERN = /^[A-Za-z0-9_.:/*-]+$/;

/** Why a capability name pattern is refused, or null when it is good. */
export function patternProblem(pattern: string): string | null {
  if (pattern.length === 0) return "must not be empty";
  if (pattern.length > 200) return "must be at most 200 characters";
  if (!PATTERN.test(pattern)) return "may hold only letters, digits, _ . : / - and * (any run of characters)";
  if (pattern.includes("**")) return "must not hold ** (one * already matches any run of characters)";
  return null;
}

/** A glob pattern as a LIKE pattern over the lower-cased name: `_`, `%`, `\` literal, `*` any run. */
export function patternToLike(pattern: string): string {
  return pattern
    .toLowerCase()
    .replace(/[\\%_]/g, (c) => `\\${c}`)
    .replace(/\*/g, "%");
}

const regexCache = new Map<string, RegExp>();
/** Whether `name` matches the glob `pattern`, case-insensitively (as LIKE over `nameKey` does). */
export function patternMatches(pattern: string, name: string): boolean {
  let re = regexCache.get(pattern);
  if (!re) {
    const body = pattern
      .toLowerCase()
      .split("*")
      .map((part) => part.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&"))
      .join(".*");
    re = new RegExp(`^${body}$`, "s");
    if (regexCache.size > 10_000) regexCache.clear();
    regexCache.set(pattern, re);
  }
  return re.test(name.toLowerCase());
}

const hasCapabilityConditions = (p: PolicyRule) => p.capabilityPatterns.length > 0 || p.capabilityKinds.length > 0;

function serverMatches(p: PolicyRule, s: ServerFacts): boolean {
  return (
    (p.serverIds.length === 0 || p.serverIds.includes(s.id)) &&
    (p.serverTags.length === 0 || p.serverTags.some((t) => s.tags.includes(t))) &&
    (p.environments.length === 0 || p.environments.includes(s.environment))
  );
}

function capabilityMatches(p: PolicyRule, c: CapabilityFacts): boolean {
  return (
    (p.capabilityPatterns.length === 0 || p.capabilityPatterns.some((pattern) => patternMatches(pattern, c.name))) &&
    (p.capabilityKinds.length === 0 || p.capabilityKinds.includes(c.kind))
  );
}

const TRUE = Prisma.sql`TRUE`;
const FALSE = Prisma.sql`FALSE`;

function serverCondition(p: PolicyRule, col: PolicyColumns): Prisma.Sql {
  const parts: Prisma.Sql[] = [];
  if (p.serverIds.length > 0) parts.push(Prisma.sql`${col.serverId} = ANY(${[...p.serverIds]}::uuid[])`);
  if (p.serverTags.length > 0) parts.push(Prisma.sql`${col.tags} && ${[...p.serverTags]}::text[]`);
  if (p.environments.length > 0) parts.push(Prisma.sql`${col.environment}::text = ANY(${[...p.environments]}::text[])`);
  return parts.length > 0 ? Prisma.sql`(${Prisma.join(parts, " AND ")})` : TRUE;
}

function capabilityCondition(p: PolicyRule, col: Required<PolicyColumns>): Prisma.Sql {
  const parts: Prisma.Sql[] = [];
  if (p.capabilityPatterns.length > 0)
    parts.push(Prisma.sql`${col.nameKey} LIKE ANY(${p.capabilityPatterns.map(patternToLike)}::text[])`);
  if (p.capabilityKinds.length > 0) parts.push(Prisma.sql`${col.kind}::text = ANY(${[...p.capabilityKinds]}::text[])`);
  return parts.length > 0 ? Prisma.sql`(${Prisma.join(parts, " AND ")})` : TRUE;
}

const any = (conditions: Prisma.Sql[]) =>
  conditions.length === 0 ? FALSE : Prisma.sql`(${Prisma.join(conditions, " OR ")})`;

/**
 * The caller's policies for `action`, compiled. Only the policies that apply to the caller are
 * kept, so the SQL grows with those, not with the organization's whole list.
 */
export function compilePolicies(set: PolicySet, subject: PolicySubject, action: PolicyAction): CompiledPolicies {
  const applicable = set.policies.filter((p) => p.actions.includes(action) && policyAppliesTo(p, subject));
  const denies = applicable.filter((p) => p.effect === "deny");
  const allows = applicable.filter((p) => p.effect === "allow");
  const open = set.defaultAccess === "open";
  const byDefault: PolicyDecision = open
    ? { allowed: true, policy: null, decidedBy: "default_open" }
    : { allowed: false, policy: null, decidedBy: "default_closed" };
  const decided = (p: PolicyRule): PolicyDecision => ({
    allowed: p.effect === "allow",
    policy: { id: p.id, name: p.name, effect: p.effect },
    decidedBy: "policy",
  });
  // With an open default, allows change nothing; deny-only filtering keeps the SQL small.
  const restricts = denies.length > 0 || !open;

  return {
    action,
    applicable,
    restricts,
    namesCapabilities: applicable.some(hasCapabilityConditions),
    server(s) {
      const deny = denies.find((p) => !hasCapabilityConditions(p) && serverMatches(p, s));
      if (deny) return decided(deny);
      const allow = allows.find((p) => serverMatches(p, s));
      return allow ? decided(allow) : byDefault;
    },
    capability(s, c) {
      const deny = denies.find((p) => serverMatches(p, s) && capabilityMatches(p, c));
      if (deny) return decided(deny);
      const allow = allows.find((p) => serverMatches(p, s) && capabilityMatches(p, c));
      return allow ? decided(allow) : byDefault;
    },
    serverSql(col) {
      if (!restricts) return TRUE;
      const deny = any(denies.filter((p) => !hasCapabilityConditions(p)).map((p) => serverCondition(p, col)));
      const allowed = open ? TRUE : any(allows.map((p) => serverCondition(p, col)));
      return Prisma.sql`(NOT ${deny} AND ${allowed})`;
    },
    capabilitySql(col) {
      if (!restricts) return TRUE;
      const both = (p: PolicyRule) => Prisma.sql`(${serverCondition(p, col)} AND ${capabilityCondition(p, col)})`;
      const deny = any(denies.map(both));
      const allowed = open ? TRUE : any(allows.map(both));
      return Prisma.sql`(NOT ${deny} AND ${allowed})`;
    },
  };
}

/**
 * Columns of a Policy row the evaluator reads. The list columns are nullable in the table (Prisma's scalar lists): a row written without one
 * (not through the API, which always writes them) reads as an empty list, as Prisma reads it.
 */
const POLICY_COLUMNS = Prisma.sql`id, name, effect::text AS effect, COALESCE(actions, '{}') AS actions,
  COALESCE("subjectRoles", '{}') AS "subjectRoles", COALESCE("subjectUserIds", '{}') AS "subjectUserIds",
  COALESCE("subjectApiKeyIds", '{}') AS "subjectApiKeyIds", COALESCE("serverIds", '{}') AS "serverIds",
  COALESCE("serverTags", '{}') AS "serverTags", COALESCE(environments, '{}') AS environments,
  COALESCE("capabilityPatterns", '{}') AS "capabilityPatterns", COALESCE("capabilityKinds", '{}') AS "capabilityKinds"`;

/**
 * The organization's default and policies, read fresh (two indexed reads in one statement). Used
 * by every process that decides (registry reads and discovery, through its cache per access
 * epoch, `access-epoch.ts`; the chat subgraph and worker per decision); the admin subgraph owns
 * the rows and moves the access epoch when it changes them.
 */
export async function loadPolicySet(db: Db, organizationId: string): Promise<PolicySet> {
  const rows = await db.$queryRaw<Array<{ defaultAccess: DefaultAccess; policies: PolicyRule[] | null }>>`
    SELECT o."defaultAccess"::text AS "defaultAccess",
           (SELECT json_agg(p ORDER BY p."createdAt", p.id) FROM (
              SELECT ${POLICY_COLUMNS}, "createdAt" FROM "Policy" WHERE "organizationId" = ${organizationId}::uuid) p
           ) AS policies
      FROM "Organization" o WHERE o.id = ${organizationId}::uuid`;
  const row = rows[0];
  return { defaultAccess: row?.defaultAccess ?? "open", policies: row?.policies ?? [] };
}
