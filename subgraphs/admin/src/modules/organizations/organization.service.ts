import {
  type AccessChangeNotifier,
  AppError,
  checkInput,
  DEFAULT_ACCESS,
  ErrorCode,
  isUniqueViolation,
  notFound,
  type Organization as OrganizationRow,
  type Principal,
  type PrismaClient,
  ROLE_SCOPES,
  recordChange,
  SYSTEM_SOURCE,
  unauthenticated,
} from "@sprintconnect/core";
import { type Actor, isUuid, sourceOf } from "@sprintconnect/subgraph-kit";
import { z } from "zod";
import type { ApiKeyService } from "../api-keys/api-key.service";
import type { MemberRepository } from "../members/member.repository";
import { Role } from "../shared/enums";
import { emailRule, personNameRule } from "../shared/rules";
import type { UpdateOrganizationSettingsInput } from "./organization.input";
import type { OrganizationRepository } from "./organization.repository";
import type { Me, Organization } from "./organization.type";

const createRules = z.object({
  name: z.string().trim().min(1, "must not be empty").max(200, "must be at most 200 characters"),
  ownerEmail: emailRule,
  ownerName: personNameRule.nullish(),
});

const settingsRules = z.object({
  holdNewCapabilitiesForReview: z.boolean().nullish(),
  defaultAccess: z
    .enum(DEFAULT_ACCESS, { error: (issue) => `unknown default access "${String(issue.input)}" (open or closed)` })
    .nullish(),
});

export interface CreateOrganizationInput {
  name: string;
  ownerEmail: string;
  ownerName?: string | null;
}

export interface CreatedOrganization {
  organizationId: string;
  userId: string;
  /** The owner's first API key, in full. Shown once. */
  apiKey: string;
}

/** The caller's organization and identity, and the creation of new organizations. */
export class OrganizationService {
  constructor(
    private readonly db: PrismaClient,
    private readonly organizations: OrganizationRepository,
    private readonly members: MemberRepository,
    private readonly apiKeys: ApiKeyService,
    private readonly accessChanged: AccessChangeNotifier,
  ) {}

  async get(principal: Principal): Promise<Organization> {
    const row = await this.organizations.findById(principal.organizationId);
    if (!row) throw notFound("Organization");
    return toOrganization(row);
  }

  /** Changes the caller's organization's settings, with an audit entry of before and after. */
  async updateSettings(actor: Actor, input: UpdateOrganizationSettingsInput): Promise<Organization> {
    const data = checkInput(settingsRules, input);
    const { organizationId } = actor.principal;
    const row = await this.db.$transaction(async (tx) => {
      const before = await this.organizations.findById(organizationId, tx);
      if (!before) throw notFound("Organization");
      const updated = await this.organizations.updateSettings(tx, organizationId, {
        ...(typeof data.holdNewCapabilitiesForReview === "boolean"
          ? { holdNewCapabilitiesForReview: data.holdNewCapabilitiesForReview }
          : {}),
        ...(data.defaultAccess ? { defaultAccess: data.defaultAccess } : {}),
      });
      await recordChange(tx, sourceOf(actor), {
        organizationId,
        type: "organization.updated",
        targetType: "organization",
        targetId: organizationId,
        data: {
          before: {
            holdNewCapabilitiesForReview: before.holdNewCapabilitiesForReview,
            defaultAccess: before.defaultAccess,
          },
          after: {
            holdNewCapabilitiesForReview: updated.holdNewCapabilitiesForReview,
            defaultAccess: updated.defaultAccess,
          },
        },
        payload: {
          organizationId,
          holdNewCapabilitiesForReview: updated.holdNewCapabilitiesForReview,
          defaultAccess: updated.defaultAccess,
        },
      });
      return updated;
    });
    // The default access is part of every access decision (the registry's policy cache).
    if (data.defaultAccess) await this.accessChanged(organizationId);
    return toOrganization(row);
  }

  /** An entity reference: only the caller's own organization resolves. */
  async getReference(principal: Principal, id: string): Promise<Organization | null> {
    if (!isUuid(id) || id !== principal.organizationId) return null;
    const row = await this.organizations.findById(principal.organizationId);
    return row ? toOrganization(row) : null;
  }

  async me(principal: Principal): Promise<Me> {
    const [membership, organization, apiKey] = await Promise.all([
      this.members.findByUserId(principal.organizationId, principal.userId),
      this.organizations.findById(principal.organizationId),
      this.apiKeys.current(principal),
    ]);
    // The gateway checked the membership; it can only vanish in between.
    if (!membership || !organization) throw unauthenticated("Membership no longer exists");
    return {
      user: { id: membership.user.id, email: membership.user.email, name: membership.user.name },
      organization: toOrganization(organization),
      role: principal.role as Role,
      scopes: [...principal.scopes],
      authMethod: principal.authMethod,
      apiKey,
    };
  }

  /**
   * Creates an organization with its first owner (an existing user with that email, or a new
   * one) and an owner API key, in one transaction. A system operation (the CLI): the audit
   * entries name no actor.
   */
  async create(input: CreateOrganizationInput): Promise<CreatedOrganization> {
    const data = checkInput(createRules, input);
    const base = slugify(data.name);
    try {
      return await this.db.$transaction(async (tx) => {
        await this.organizations.lockSlug(tx, base);
        const organization = await this.organizations.create(tx, {
          name: data.name,
          slug: freeSlug(base, await this.organizations.slugsLike(tx, base)),
        });
        const organizationId = organization.id;
        await recordChange(tx, SYSTEM_SOURCE, {
          organizationId,
          type: "organization.created",
          targetType: "organization",
          targetId: organizationId,
          data: { after: { name: organization.name, slug: organization.slug } },
          payload: { organizationId, name: organization.name, slug: organization.slug },
        });
        const user =
          (await this.members.findUserByEmail(tx, data.ownerEmail)) ??
          (await this.members.createUser(tx, { email: data.ownerEmail, name: data.ownerName ?? null }));
        await this.members.create(tx, {
          organizationId,
          userId: user.id,
          role: Role.owner,
          name: data.ownerName ?? null,
        });
        await recordChange(tx, SYSTEM_SOURCE, {
          organizationId,
          type: "member.added",
          targetType: "user",
          targetId: user.id,
          data: { after: { email: user.email, role: Role.owner } },
          payload: { userId: user.id, email: user.email, role: Role.owner },
        });
        const { key } = await this.apiKeys.issue(tx, SYSTEM_SOURCE, {
          organizationId,
          userId: user.id,
          name: "owner key",
          scopes: [...ROLE_SCOPES.owner],
          expiresAt: null,
          parentKeyId: null,
        });
        return { organizationId, userId: user.id, apiKey: key };
      });
    } catch (err) {
      // A concurrent creation took the same slug or created the same new user.
      if (isUniqueViolation(err)) throw new AppError(ErrorCode.CONFLICT, "A concurrent change conflicted; try again");
      throw err;
    }
  }
}

/** A URL-safe slug: lowercase ASCII letters and digits separated by single dashes. */
export function slugify(name: string): string {
  const slug = name
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .slice(0, 48)
    .replace(/^-+|-+$/g, "");
  return slug || "org";
}

/** `base` if free, else `base-2`, `base-3`, … */
function freeSlug(base: string, taken: Set<string>): string {
  if (!taken.has(base)) return base;
  for (let n = 2; ; n++) {
    const candidate = `${base}-${n}`;
    if (!taken.has(candidate)) return candidate;
  }
}

export function toOrganization(row: OrganizationRow): Organization {
  return {
    id: row.id,
    name: row.name,
    slug: row.slug,
    holdNewCapabilitiesForReview: row.holdNewCapabilitiesForReview,
    defaultAccess: row.defaultAccess,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}
