import {
  type CompiledPolicies,
  compilePolicies,
  type Db,
  loadPolicySet,
  type PolicyAction,
  type PolicySet,
  type Principal,
} from "@sprintconnect/core";

/**
 * The caller's access policies (packages/core/src/policy), read fresh for each request: a policy
 * change applies to the next request on every instance, with nothing cached to invalidate.
 */
export class CallerPolicies {
  constructor(private readonly db: Db) {}

  load(principal: Principal): Promise<PolicySet> {
    return loadPolicySet(this.db, principal.organizationId);
  }

  async compile(principal: Principal, action: PolicyAction): Promise<CompiledPolicies> {
    return compileFor(await this.load(principal), principal, action);
  }
}

export function compileFor(set: PolicySet, principal: Principal, action: PolicyAction): CompiledPolicies {
  return compilePolicies(set, { role: principal.role, userId: principal.userId, apiKeyId: principal.apiKeyId }, action);
}
