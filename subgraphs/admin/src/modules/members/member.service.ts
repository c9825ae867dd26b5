import {
  AppError,
  type AuthInvalidator,
  checkInput,
  type Db,
  ErrorCode,
  forbidden,
  hasScopes,
  isUniqueViolation,
  notFound,
  type Principal,
  type PrismaClient,
  pageSize,
  ROLE_SCOPES,
  recordChange,
  toPage,
} from "@sprintconnect/core";
import { type Actor, isUuid, sourceOf } from "@sprintconnect/subgraph-kit";
import { z } from "zod";
import type { ApiKeyRepository } from "../api-keys/api-key.repository";
import { MembershipStatus, Role } from "../shared/enums";
import { emailRule, personNameRule } from "../shared/rules";
import type { AddMemberInput } from "./member.input";
import type { MemberRepository, MembershipWithUser } from "./member.repository";
import type { Membership, MembershipConnection } from "./member.type";

const addRules = z.object({
  email: emailRule,
  name: personNameRule.nullish(),
  role: z.enum(Role),
});

const LAST_OWNER = "An organization must keep at least one owner";

/**
 * Membership rules: who may grant or change which role (by scopes, `assertHoldsRole`), that an
 * owner always remains, and that nothing another organization knows about a user is shown.
 */
export class MemberService {
  constructor(
    private readonly db: PrismaClient,
    private readonly members: MemberRepository,
    private readonly apiKeys: ApiKeyRepository,
    private readonly invalidate: AuthInvalidator,
  ) {}

  async list(principal: Principal, limit?: number | null, cursor?: string | null): Promise<MembershipConnection> {
    const take = pageSize(limit);
    const page = toPage(await this.members.list(principal.organizationId, take, cursor), take);
    return { items: page.items.map(toMembership), nextCursor: page.nextCursor };
  }

  async add(actor: Actor, input: AddMemberInput): Promise<Membership> {
    const data = checkInput(addRules, input);
    const { principal } = actor;
    assertHoldsRole(principal, data.role, "Granting");
    try {
      const row = await this.db.$transaction(async (tx) => {
        await this.members.lock(tx, principal.organizationId);
        const user =
          (await this.members.findUserByEmail(tx, data.email)) ??
          (await this.members.createUser(tx, { email: data.email, name: data.name ?? null }));
        if (await this.members.findByUserId(principal.organizationId, user.id, tx)) {
          throw new AppError(ErrorCode.CONFLICT, `${data.email} is already a member`, { field: "email" });
        }
        // The user may already exist through another organization: nothing of theirs (their
        // name there) is copied into this membership or returned; the inviter's name is used.
        const created = await this.members.create(tx, {
          organizationId: principal.organizationId,
          userId: user.id,
          role: data.role,
          name: data.name ?? null,
          // Someone who never logged in is invited: the membership grants nothing until the
          // first OIDC login with this (verified) email binds a person to the user.
          status: user.oidcSubject === null ? "invited" : "active",
        });
        await recordChange(tx, sourceOf(actor), {
          organizationId: principal.organizationId,
          type: "member.added",
          targetType: "user",
          targetId: user.id,
          data: { after: { email: user.email, role: created.role, status: created.status } },
          payload: { userId: user.id, email: user.email, role: created.role },
        });
        return created;
      });
      return toMembership(row);
    } catch (err) {
      // Another organization created the same new user at the same moment.
      if (isUniqueViolation(err)) throw new AppError(ErrorCode.CONFLICT, "A concurrent change conflicted; try again");
      throw err;
    }
  }

  async updateRole(actor: Actor, userId: string, role: Role): Promise<Membership> {
    const { principal } = actor;
    const row = await this.db.$transaction(async (tx) => {
      await this.members.lock(tx, principal.organizationId);
      const before = await this.require(principal.organizationId, userId, tx);
      assertHoldsRole(principal, before.role as Role, "Changing the role of a member with");
      assertHoldsRole(principal, role, "Granting");
      if (before.role === Role.owner && role !== Role.owner) {
        await this.assertAnotherOwner(tx, principal.organizationId);
      }
      const updated = await this.members.updateRole(tx, principal.organizationId, before.userId, role);
      await recordChange(tx, sourceOf(actor), {
        organizationId: principal.organizationId,
        type: "member.updated",
        targetType: "user",
        targetId: before.userId,
        data: { before: { role: before.role }, after: { role: updated.role } },
        payload: { userId: before.userId, role: updated.role, previousRole: before.role },
      });
      return updated;
    });
    // Committed: the gateways read the member's role again (tokens and keys).
    await this.invalidate({ organizationId: principal.organizationId, userId: row.userId });
    return toMembership(row);
  }

  /** Removes a member and revokes the API keys they hold in this organization; then tells the gateways. */
  async remove(actor: Actor, userId: string): Promise<boolean> {
    const { principal } = actor;
    const removed = await this.db.$transaction(async (tx) => {
      await this.members.lock(tx, principal.organizationId);
      const before = await this.require(principal.organizationId, userId, tx);
      assertHoldsRole(principal, before.role as Role, "Removing a member with");
      if (before.role === Role.owner) await this.assertAnotherOwner(tx, principal.organizationId);
      const revokedApiKeys = await this.apiKeys.revokeAllOfUser(tx, principal.organizationId, before.userId);
      await this.members.remove(tx, principal.organizationId, before.userId);
      await recordChange(tx, sourceOf(actor), {
        organizationId: principal.organizationId,
        type: "member.removed",
        targetType: "user",
        targetId: before.userId,
        data: { before: { email: before.user.email, role: before.role }, revokedApiKeys },
        payload: { userId: before.userId, role: before.role },
      });
      return before.userId;
    });
    await this.invalidate({ organizationId: principal.organizationId, userId: removed });
    return true;
  }

  private async require(organizationId: string, userId: string, tx: Db): Promise<MembershipWithUser> {
    const row = isUuid(userId) ? await this.members.findByUserId(organizationId, userId, tx) : null;
    if (!row) throw notFound("Member");
    return row;
  }

  private async assertAnotherOwner(tx: Db, organizationId: string): Promise<void> {
    if ((await this.members.countOwners(organizationId, tx)) <= 1) {
      throw new AppError(ErrorCode.CONFLICT, LAST_OWNER);
    }
  }
}

/**
 * Grants are decided by the caller's effective scopes (its role narrowed to its key's scopes),
 * never by its role alone: a caller may grant a role, or change or remove a member holding it,
 * only when it holds every scope of that role itself. So the owner role needs `org:manage`,
 * and an owner's key narrowed to `members:manage` cannot make anyone an owner.
 */
function assertHoldsRole(principal: Principal, role: Role, action: string): void {
  const missing = ROLE_SCOPES[role].filter((scope) => !hasScopes(principal, [scope]));
  if (missing.length > 0) {
    throw forbidden(`${action} the role ${role} needs every scope of that role; missing: ${missing.join(", ")}`);
  }
}

/** A membership as the organization sees it: the member's name is the one it gave them. */
export function toMembership(row: MembershipWithUser): Membership {
  return {
    id: row.id,
    user: { id: row.user.id, email: row.user.email, name: row.name },
    role: row.role as Role,
    status: row.status as MembershipStatus,
    createdAt: row.createdAt,
  };
}
