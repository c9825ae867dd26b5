import {
  type CompiledPolicies,
  compilePolicies,
  type Db,
  loadPolicySet,
  type PolicyAction,
  type PolicySet,
  type Principal,
} from "@sprintconnect/core";

/** POLICY_CACHE_TTL_SECONDS's default, for schemas built without configuration. */
export const DEFAULT_POLICY_CACHE_TTL_SECONDS = 10;
/** Organizations whose policies are kept (the longest held are dropped first). */
const MAX_ORGANIZATIONS = 10_000;
/** Compiled decisions kept per organization (one per action and subject). */
const MAX_COMPILED = 1_000;

/** One organization's policies as read under one access epoch. */
interface Entry {
  epoch: number;
  /** When the read began: the entry serves for at most the TTL from then. */
  readAt: number;
  set: Promise<PolicySet>;
  compiled: Map<string, CompiledPolicies>;
}

/**
 * The caller's access policies (packages/core/src/policy), cached per organization and access
 * epoch (`policy/access-epoch.ts`). The gateway reads the organization's epoch on every request
 * and sends it in the internal token (`Principal.accessEpoch`); every change of policies or of the
 * default access moves the epoch after its commit, so a request admitted after a change carries an
 * epoch no entry holds, and reads the policies again: a change applies to the next request
 * through the gateway on every instance. A request without an epoch (a subscription, a caller
 * that is not the gateway) reads fresh. An entry lives at most `ttlSeconds` (what bypasses the
 * epoch: a row changed behind the API's back, an announcement Redis never got).
 */
export class CallerPolicies {
  private readonly entries = new Map<string, Entry>();
  private readonly ttlMs: number;

  constructor(
    private readonly db: Db,
    options: { ttlSeconds: number },
  ) {
    this.ttlMs = options.ttlSeconds * 1000;
  }

  load(principal: Principal): Promise<PolicySet> {
    return this.policySet(principal.organizationId, principal.accessEpoch);
  }

  /**
   * The organization's policies as of `epoch` (its access epoch, read by the caller): the entry
   * read under it, or fresh without one. Live subscriptions (`LivePolicies`) read through here too.
   */
  policySet(organizationId: string, epoch: number | undefined): Promise<PolicySet> {
    return this.entry(organizationId, epoch)?.set ?? loadPolicySet(this.db, organizationId);
  }

  async compile(principal: Principal, action: PolicyAction): Promise<CompiledPolicies> {
    const entry = this.entry(principal.organizationId, principal.accessEpoch);
    if (!entry) return compileFor(await loadPolicySet(this.db, principal.organizationId), principal, action);
    const key = `${action}|${principal.role}|${principal.userId}|${principal.apiKeyId ?? ""}`;
    const hit = entry.compiled.get(key);
    if (hit) return hit;
    const compiled = compileFor(await entry.set, principal, action);
    if (entry.compiled.size < MAX_COMPILED) entry.compiled.set(key, compiled);
    return compiled;
  }

  /** The entry for the organization and epoch (reading it when absent); null: read fresh. */
  private entry(organizationId: string, epoch: number | undefined): Entry | null {
    if (epoch === undefined || this.ttlMs === 0) return null;
    const now = Date.now();
    const held = this.entries.get(organizationId);
    if (held && held.epoch === epoch && now - held.readAt < this.ttlMs) return held;
    // Admitted before a change this instance already read under a newer epoch: read fresh, and
    // keep the newer entry for the requests that follow.
    if (held && held.epoch > epoch) return null;
    const entry: Entry = {
      epoch,
      readAt: now,
      set: loadPolicySet(this.db, organizationId),
      compiled: new Map(),
    };
    this.entries.delete(organizationId);
    this.entries.set(organizationId, entry);
    if (this.entries.size > MAX_ORGANIZATIONS) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    // A failed read is not kept: the next request tries again.
    entry.set.catch(() => {
      if (this.entries.get(organizationId) === entry) this.entries.delete(organizationId);
    });
    return entry;
  }
}

export function compileFor(set: PolicySet, principal: Principal, action: PolicyAction): CompiledPolicies {
  return compilePolicies(set, { role: principal.role, userId: principal.userId, apiKeyId: principal.apiKeyId }, action);
}
