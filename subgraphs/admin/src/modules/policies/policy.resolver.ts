import { actorOf, requirePrincipal, type SubgraphContext } from "@sprintconnect/subgraph-kit";
import { Arg, Authorized, Ctx, ID, Int, Mutation, Query, Resolver } from "type-graphql";
import { CreatePolicyInput, UpdatePolicyInput } from "./policy.input";
import type { PolicyService } from "./policy.service";
import { ApplicablePolicies, Policy, PolicyConnection } from "./policy.type";

@Resolver((_of) => Policy)
export class PolicyResolver {
  constructor(private readonly service: PolicyService) {}

  @Authorized("policies:manage")
  @Query((_returns) => PolicyConnection, { description: "The organization's access policies, newest first" })
  policies(
    @Ctx() ctx: SubgraphContext,
    @Arg("limit", (_type) => Int, { nullable: true, description: "1 to 100; default 20" }) limit?: number,
    @Arg("cursor", (_type) => String, { nullable: true }) cursor?: string,
  ): Promise<PolicyConnection> {
    return this.service.list(requirePrincipal(ctx), limit, cursor);
  }

  @Authorized("policies:manage")
  @Query((_returns) => Policy, { description: "One access policy; NOT_FOUND if absent" })
  policy(@Ctx() ctx: SubgraphContext, @Arg("id", (_type) => ID) id: string): Promise<Policy> {
    return this.service.get(requirePrincipal(ctx), id);
  }

  @Authorized("servers:read")
  @Query((_returns) => ApplicablePolicies, {
    description: "The policies whose subjects include the caller, and the organization's default access",
  })
  discoveryPolicies(@Ctx() ctx: SubgraphContext): Promise<ApplicablePolicies> {
    return this.service.applicable(requirePrincipal(ctx));
  }

  @Authorized("policies:manage")
  @Mutation((_returns) => Policy, { description: "Takes effect on the next request" })
  createPolicy(
    @Ctx() ctx: SubgraphContext,
    @Arg("input", (_type) => CreatePolicyInput) input: CreatePolicyInput,
  ): Promise<Policy> {
    return this.service.create(actorOf(ctx, requirePrincipal(ctx)), input);
  }

  @Authorized("policies:manage")
  @Mutation((_returns) => Policy, { description: "Takes effect on the next request" })
  updatePolicy(
    @Ctx() ctx: SubgraphContext,
    @Arg("id", (_type) => ID) id: string,
    @Arg("input", (_type) => UpdatePolicyInput) input: UpdatePolicyInput,
  ): Promise<Policy> {
    return this.service.update(actorOf(ctx, requirePrincipal(ctx)), id, input);
  }

  @Authorized("policies:manage")
  @Mutation((_returns) => Policy, { description: "Returns the deleted policy" })
  deletePolicy(@Ctx() ctx: SubgraphContext, @Arg("id", (_type) => ID) id: string): Promise<Policy> {
    return this.service.delete(actorOf(ctx, requirePrincipal(ctx)), id);
  }
}
