import {
  type AccessChangeNotifier,
  AppError,
  CAPABILITY_KINDS,
  checkInput,
  type Db,
  ErrorCode,
  isUniqueViolation,
  loadPolicySet,
  MCP_ENVIRONMENTS,
  notFound,
  POLICY_ACTIONS,
  POLICY_EFFECTS,
  type Policy as PolicyRow,
  type Principal,
  type PrismaClient,
  pageSize,
  patternProblem,
  policyAppliesTo,
  ROLES,
  recordChange,
  toPage,
  validationFailed,
} from "@sprintconnect/core";
import { type Actor, isUuid, sourceOf } from "@sprintconnect/subgraph-kit";
import { z } from "zod";
import type { CreatePolicyInput, UpdatePolicyInput } from "./policy.input";
import type { PolicyData, PolicyRepository } from "./policy.repository";
import type { ApplicablePolicies, Policy, PolicyConnection } from "./policy.type";

/** More would make every decision slower for no plausible use; LIMIT_EXCEEDED beyond. */
export const MAX_POLICIES_PER_ORGANIZATION = 1000;
const MAX_ENTRIES = 100;

const list = <T extends z.ZodType>(item: T) =>
  z
    .array(item)
    .max(MAX_ENTRIES, `must hold at most ${MAX_ENTRIES} entries`)
    .nullish()
    .transform((v) => [...new Set(v ?? [])] as z.infer<T>[]);
const uuid = z.string().superRefine((v, ctx) => {
  if (!isUuid(v)) ctx.addIssue({ code: "custom", message: `"${v}" is not an id` });
});
const oneOf = (values: readonly string[], what: string) =>
  z.string().superRefine((v, ctx) => {
    if (!values.includes(v))
      ctx.addIssue({ code: "custom", message: `unknown ${what} "${v}" (one of ${values.join(", ")})` });
  });
const patternRule = z.string().superRefine((value, ctx) => {
  const problem = patternProblem(value);
  if (problem) ctx.addIssue({ code: "custom", message: `bad pattern "${value}": ${problem}` });
});
const tagRule = z.string().trim().toLowerCase().min(1, "must not be empty").max(100);

const subjectsRules = z
  .object({ roles: list(oneOf(ROLES, "role")), userIds: list(uuid), apiKeyIds: list(uuid) })
  .refine((s) => s.roles.length + s.userIds.length + s.apiKeyIds.length > 0, {
    message: "must name at least one role, user or API key",
  });
const resourcesRules = z.object({
  serverIds: list(uuid),
  tags: list(tagRule),
  environments: list(oneOf(MCP_ENVIRONMENTS, "environment")),
  capabilityNames: list(patternRule),
  capabilityKinds: list(oneOf(CAPABILITY_KINDS, "capability kind")),
});
const nameRule = z.string().trim().min(1, "must not be empty").max(100, "must be at most 100 characters");
const descriptionRule = z.string().trim().max(1000, "must be at most 1000 characters");
const actionsRule = z
  .array(oneOf(POLICY_ACTIONS, "action"))
  .min(1, "must name at least one action")
  .transform((v) => [...new Set(v)]);
const effectRule = oneOf(POLICY_EFFECTS, "effect");

const createRules = z.object({
  name: nameRule,
  description: descriptionRule.nullish(),
  effect: effectRule,
  actions: actionsRule,
  subjects: subjectsRules,
  resources: resourcesRules.nullish(),
});
const updateRules = z.object({
  name: nameRule.nullish(),
  description: descriptionRule.nullish(),
  effect: effectRule.nullish(),
  actions: actionsRule.nullish(),
  subjects: subjectsRules.nullish(),
  resources: resourcesRules.nullish(),
});

type Subjects = z.infer<typeof subjectsRules>;
type Resources = z.infer<typeof resourcesRules>;

function subjectColumns(s: Subjects) {
  return { subjectRoles: s.roles, subjectUserIds: s.userIds, subjectApiKeyIds: s.apiKeyIds };
}
function resourceColumns(r: Resources | null | undefined) {
  return {
    serverIds: r?.serverIds ?? [],
    serverTags: r?.tags ?? [],
    environments: r?.environments ?? [],
    capabilityPatterns: r?.capabilityNames ?? [],
    capabilityKinds: r?.capabilityKinds ?? [],
  };
}

/**
 * Access policy rules: validation with coded errors, the name unique per organization, subjects
 * that exist, at most {@link MAX_POLICIES_PER_ORGANIZATION}, an audit entry per change. Every
 * change moves the organization's access epoch after it commits (`accessChanged`), which is what
 * makes the registry's policy cache read again: the change applies to the next request.
 */
export class PolicyService {
  constructor(
    private readonly db: PrismaClient,
    private readonly policies: PolicyRepository,
    private readonly accessChanged: AccessChangeNotifier,
  ) {}

  async list(principal: Principal, limit?: number | null, cursor?: string | null): Promise<PolicyConnection> {
    const take = pageSize(limit);
    const page = toPage(await this.policies.list(principal.organizationId, take, cursor), take);
    return { items: page.items.map(toPolicy), nextCursor: page.nextCursor };
  }

  async get(principal: Principal, id: string): Promise<Policy> {
    const row = isUuid(id) ? await this.policies.findById(principal.organizationId, id) : null;
    if (!row) throw notFound("Policy");
    return toPolicy(row);
  }

  /** The policies whose subjects include the caller (any action), and the organization's default. */
  async applicable(principal: Principal): Promise<ApplicablePolicies> {
    const set = await loadPolicySet(this.db, principal.organizationId);
    const subject = { role: principal.role, userId: principal.userId, apiKeyId: principal.apiKeyId };
    const ids = new Set(set.policies.filter((p) => policyAppliesTo(p, subject)).map((p) => p.id));
    const rows = await this.policies.findByIds(principal.organizationId, [...ids]);
    return { defaultAccess: set.defaultAccess, items: rows.map(toPolicy) };
  }

  async create(actor: Actor, input: CreatePolicyInput): Promise<Policy> {
    const data = checkInput(createRules, input);
    const { organizationId, userId } = actor.principal;
    const row = await this.write(organizationId, async (tx) => {
      await this.policies.lock(tx, organizationId);
      if ((await this.policies.count(tx, organizationId)) >= MAX_POLICIES_PER_ORGANIZATION) {
        throw new AppError(
          ErrorCode.LIMIT_EXCEEDED,
          `An organization may have at most ${MAX_POLICIES_PER_ORGANIZATION} policies`,
        );
      }
      await this.assertNameFree(tx, organizationId, data.name, null);
      await this.assertSubjectsExist(tx, organizationId, data.subjects);
      const values: PolicyData = {
        name: data.name,
        description: data.description ?? null,
        effect: data.effect as PolicyRow["effect"],
        actions: data.actions,
        ...subjectColumns(data.subjects),
        ...resourceColumns(data.resources),
      };
      const created = await this.policies.create(tx, organizationId, userId, values);
      await recordChange(tx, sourceOf(actor), {
        organizationId,
        type: "policy.created",
        targetType: "policy",
        targetId: created.id,
        data: { after: auditView(created) },
        payload: { policyId: created.id, name: created.name },
      });
      return created;
    });
    return toPolicy(row);
  }

  async update(actor: Actor, id: string, input: UpdatePolicyInput): Promise<Policy> {
    const data = checkInput(updateRules, input);
    const { organizationId } = actor.principal;
    const row = await this.write(organizationId, async (tx) => {
      await this.policies.lock(tx, organizationId);
      const before = isUuid(id) ? await this.policies.findById(organizationId, id, tx) : null;
      if (!before) throw notFound("Policy");
      if (data.name) await this.assertNameFree(tx, organizationId, data.name, before.id);
      if (data.subjects) await this.assertSubjectsExist(tx, organizationId, data.subjects);
      const changes: Partial<PolicyData> = {
        ...(data.name ? { name: data.name } : {}),
        ...(data.description !== undefined && data.description !== null
          ? { description: data.description || null }
          : {}),
        ...(data.effect ? { effect: data.effect as PolicyRow["effect"] } : {}),
        ...(data.actions ? { actions: data.actions } : {}),
        ...(data.subjects ? subjectColumns(data.subjects) : {}),
        ...(data.resources ? resourceColumns(data.resources) : {}),
      };
      const updated = await this.policies.update(tx, organizationId, before.id, changes);
      await recordChange(tx, sourceOf(actor), {
        organizationId,
        type: "policy.updated",
        targetType: "policy",
        targetId: updated.id,
        data: { before: auditView(before), after: auditView(updated) },
        payload: { policyId: updated.id, name: updated.name },
      });
      return updated;
    });
    return toPolicy(row);
  }

  async delete(actor: Actor, id: string): Promise<Policy> {
    const { organizationId } = actor.principal;
    const row = await this.write(organizationId, async (tx) => {
      await this.policies.lock(tx, organizationId);
      const before = isUuid(id) ? await this.policies.findById(organizationId, id, tx) : null;
      if (!before) throw notFound("Policy");
      await this.policies.delete(tx, organizationId, before.id);
      await recordChange(tx, sourceOf(actor), {
        organizationId,
        type: "policy.deleted",
        targetType: "policy",
        targetId: before.id,
        data: { before: auditView(before) },
        payload: { policyId: before.id, name: before.name },
      });
      return before;
    });
    return toPolicy(row);
  }

  /** Runs a change in a transaction, then announces it (after the commit: a reader must see it). */
  private async write<T>(organizationId: string, fn: (tx: Db) => Promise<T>): Promise<T> {
    let result: T;
    try {
      result = await this.db.$transaction(fn);
    } catch (err) {
      if (isUniqueViolation(err)) throw new AppError(ErrorCode.CONFLICT, "A policy with this name already exists");
      throw err;
    }
    await this.accessChanged(organizationId);
    return result;
  }

  private async assertNameFree(tx: Db, organizationId: string, name: string, self: string | null): Promise<void> {
    const existing = await this.policies.findByName(tx, organizationId, name);
    if (existing && existing.id !== self) {
      throw new AppError(ErrorCode.CONFLICT, `A policy named "${name}" already exists`, { field: "name" });
    }
  }

  private async assertSubjectsExist(tx: Db, organizationId: string, subjects: Subjects): Promise<void> {
    const [members, keys] = await Promise.all([
      this.policies.memberIds(tx, organizationId, subjects.userIds),
      this.policies.apiKeyIds(tx, organizationId, subjects.apiKeyIds),
    ]);
    const fields = [
      ...subjects.userIds
        .map((id, i) => ({ id, field: `subjects.userIds.${i}` }))
        .filter((u) => !members.has(u.id))
        .map((u) => ({ field: u.field, message: `no member of this organization has id "${u.id}"` })),
      ...subjects.apiKeyIds
        .map((id, i) => ({ id, field: `subjects.apiKeyIds.${i}` }))
        .filter((k) => !keys.has(k.id))
        .map((k) => ({ field: k.field, message: `no API key of this organization has id "${k.id}"` })),
    ];
    if (fields.length > 0) {
      throw validationFailed(fields.map((f) => `${f.field}: ${f.message}`).join("; "), { fields });
    }
  }
}

function auditView(row: PolicyRow) {
  const p = toPolicy(row);
  return { name: p.name, effect: p.effect, actions: p.actions, subjects: p.subjects, resources: p.resources };
}

export function toPolicy(row: PolicyRow): Policy {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    effect: row.effect,
    actions: row.actions,
    subjects: { roles: row.subjectRoles, userIds: row.subjectUserIds, apiKeyIds: row.subjectApiKeyIds },
    resources: {
      serverIds: row.serverIds,
      tags: row.serverTags,
      environments: row.environments,
      capabilityNames: row.capabilityPatterns,
      capabilityKinds: row.capabilityKinds,
    },
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}
