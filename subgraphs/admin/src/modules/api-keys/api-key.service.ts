import {
  type ApiKey as ApiKeyRow,
  type AuthInvalidator,
  type ChangeSource,
  checkInput,
  type Db,
  forbidden,
  generateApiKey,
  hasScopes,
  notFound,
  type Principal,
  type PrismaClient,
  pageSize,
  recordChange,
  SCOPES,
  toPage,
  unauthenticated,
} from "@sprintconnect/core";
import { type Actor, isUuid, sourceOf } from "@sprintconnect/subgraph-kit";
import { z } from "zod";
import type { CreateApiKeyInput } from "./api-key.input";
import type { ApiKeyRepository } from "./api-key.repository";
import type { ApiKey, ApiKeyConnection, CreatedApiKey } from "./api-key.type";

const createRules = z.object({
  name: z.string().trim().min(1, "must not be empty").max(100, "must be at most 100 characters"),
  scopes: z
    .array(z.enum(SCOPES, { error: (issue) => `unknown scope "${String(issue.input)}"` }))
    .min(1, "must name at least one scope")
    .transform((list) => [...new Set(list)])
    .nullish(),
  expiresAt: z
    .date()
    .refine((d) => d.getTime() > Date.now(), "must be in the future")
    .nullish(),
});

/** What a new key is stored with (the secret and its hash are generated). */
interface NewKey {
  organizationId: string;
  userId: string;
  name: string;
  scopes: string[];
  expiresAt: Date | null;
  /** The key it is created with, if any: it expires no later than that key and is revoked with it. */
  parentKeyId: string | null;
}

/**
 * API key rules: scopes never wider than the creator's; a key created with a key never
 * outlives it (expiry clamped, revocation cascades); ownership for revocation.
 */
export class ApiKeyService {
  constructor(
    private readonly db: PrismaClient,
    private readonly apiKeys: ApiKeyRepository,
    private readonly pepper: string,
    private readonly invalidate: AuthInvalidator,
  ) {}

  /** The caller's own keys; every key of the organization with `api_keys:manage`. */
  async list(principal: Principal, limit?: number | null, cursor?: string | null): Promise<ApiKeyConnection> {
    const take = pageSize(limit);
    const onlyUser = hasScopes(principal, ["api_keys:manage"]) ? null : principal.userId;
    const page = toPage(await this.apiKeys.list(principal.organizationId, onlyUser, take, cursor), take);
    return { items: page.items.map(toApiKey), nextCursor: page.nextCursor };
  }

  /** The key the caller authenticated with, if any. */
  async current(principal: Principal): Promise<ApiKey | null> {
    if (!principal.apiKeyId) return null;
    const row = await this.apiKeys.findById(principal.organizationId, principal.apiKeyId);
    return row ? toApiKey(row) : null;
  }

  async create(actor: Actor, input: CreateApiKeyInput): Promise<CreatedApiKey> {
    const data = checkInput(createRules, input);
    const { principal } = actor;
    const scopes = data.scopes ?? [...principal.scopes];
    const wider = scopes.filter((s) => !hasScopes(principal, [s]));
    if (wider.length > 0) {
      throw forbidden(`A key cannot have scopes its creator lacks: ${wider.join(", ")}`);
    }
    return this.db.$transaction(async (tx) => {
      let expiresAt = data.expiresAt ?? null;
      if (principal.apiKeyId) {
        const parent = await this.apiKeys.lockForChild(tx, principal.organizationId, principal.apiKeyId);
        if (!parent || parent.revokedAt || (parent.expiresAt && parent.expiresAt <= new Date())) {
          throw unauthenticated("The API key of this request was revoked or has expired");
        }
        // Never later than the parent, whose own expiry is already clamped to its ancestors'.
        if (parent.expiresAt && (!expiresAt || expiresAt > parent.expiresAt)) expiresAt = parent.expiresAt;
      }
      return this.issue(tx, sourceOf(actor), {
        organizationId: principal.organizationId,
        userId: principal.userId,
        name: data.name,
        scopes,
        expiresAt,
        parentKeyId: principal.apiKeyId,
      });
    });
  }

  /**
   * Stores a new key and records it. Runs inside the caller's transaction; organization
   * creation issues the owner's first key with it too.
   */
  async issue(tx: Db, source: ChangeSource, values: NewKey): Promise<CreatedApiKey> {
    const { key, prefix, hash } = generateApiKey(this.pepper);
    const row = await this.apiKeys.create(tx, { ...values, prefix, hash });
    await recordChange(tx, source, {
      organizationId: values.organizationId,
      type: "api_key.created",
      targetType: "api_key",
      targetId: row.id,
      data: {
        after: { name: row.name, prefix: row.prefix, userId: row.userId, scopes: row.scopes, expiresAt: row.expiresAt },
      },
      payload: { apiKeyId: row.id, name: row.name, prefix: row.prefix, userId: row.userId, scopes: row.scopes },
    });
    return { apiKey: toApiKey(row), key };
  }

  /**
   * Revokes a key and, in the same transaction, every key created with it (transitively);
   * revoking a revoked key changes nothing and returns it. Once committed, the gateways are
   * told to forget all of them.
   */
  async revoke(actor: Actor, id: string): Promise<ApiKey> {
    const { principal } = actor;
    const revokedIds: string[] = [];
    const row = await this.db.$transaction(async (tx) => {
      const before = isUuid(id) ? await this.apiKeys.findById(principal.organizationId, id, tx) : null;
      if (!before) throw notFound("API key");
      if (before.userId !== principal.userId && !hasScopes(principal, ["api_keys:manage"])) {
        throw forbidden("Revoking another user's API key needs the scope api_keys:manage");
      }
      if (before.revokedAt) return before;
      const revoked = await this.apiKeys.revoke(tx, principal.organizationId, before.id);
      revokedIds.push(before.id);
      await recordChange(tx, sourceOf(actor), {
        organizationId: principal.organizationId,
        type: "api_key.revoked",
        targetType: "api_key",
        targetId: before.id,
        data: { before: { name: before.name, prefix: before.prefix, userId: before.userId } },
        payload: { apiKeyId: before.id, prefix: before.prefix, userId: before.userId },
      });
      for (const child of await this.apiKeys.revokeDescendants(tx, principal.organizationId, before.id)) {
        revokedIds.push(child.id);
        await recordChange(tx, sourceOf(actor), {
          organizationId: principal.organizationId,
          type: "api_key.revoked",
          targetType: "api_key",
          targetId: child.id,
          data: { before: { name: child.name, prefix: child.prefix, userId: child.userId }, revokedWith: before.id },
          payload: { apiKeyId: child.id, prefix: child.prefix, userId: child.userId },
        });
      }
      return revoked;
    });
    if (revokedIds.length > 0)
      await this.invalidate({ organizationId: principal.organizationId, apiKeyIds: revokedIds });
    return toApiKey(row);
  }
}

/** The public view of a key: never its hash. */
export function toApiKey(row: ApiKeyRow): ApiKey {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    scopes: row.scopes,
    expiresAt: row.expiresAt,
    revokedAt: row.revokedAt,
    lastUsedAt: row.lastUsedAt,
    createdAt: row.createdAt,
    userId: row.userId,
  };
}
