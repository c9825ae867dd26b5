import { actorOf, requirePrincipal, type SubgraphContext } from "@sprintconnect/subgraph-kit";
import { Arg, Authorized, Ctx, ID, Int, Mutation, Query, Resolver } from "type-graphql";
import { Role } from "../shared/enums";
import { AddMemberInput } from "./member.input";
import type { MemberService } from "./member.service";
import { Membership, MembershipConnection } from "./member.type";

@Resolver((_of) => Membership)
export class MemberResolver {
  constructor(private readonly service: MemberService) {}

  @Authorized("org:read")
  @Query((_returns) => MembershipConnection, { description: "Members of the caller's organization, newest first" })
  members(
    @Ctx() ctx: SubgraphContext,
    @Arg("limit", (_type) => Int, { nullable: true, description: "1 to 100; default 20" }) limit?: number,
    @Arg("cursor", (_type) => String, { nullable: true }) cursor?: string,
  ): Promise<MembershipConnection> {
    return this.service.list(requirePrincipal(ctx), limit, cursor);
  }

  @Authorized("members:manage")
  @Mutation((_returns) => Membership, { description: "CONFLICT if already a member; only an owner may grant owner" })
  addMember(
    @Ctx() ctx: SubgraphContext,
    @Arg("input", (_type) => AddMemberInput) input: AddMemberInput,
  ): Promise<Membership> {
    return this.service.add(actorOf(ctx, requirePrincipal(ctx)), input);
  }

  @Authorized("members:manage")
  @Mutation((_returns) => Membership, { description: "Only owners may change owners; one owner always remains" })
  updateMemberRole(
    @Ctx() ctx: SubgraphContext,
    @Arg("userId", (_type) => ID) userId: string,
    @Arg("role", (_type) => Role) role: Role,
  ): Promise<Membership> {
    return this.service.updateRole(actorOf(ctx, requirePrincipal(ctx)), userId, role);
  }

  @Authorized("members:manage")
  @Mutation((_returns) => Boolean, { description: "Also revokes the member's API keys in this organization" })
  removeMember(@Ctx() ctx: SubgraphContext, @Arg("userId", (_type) => ID) userId: string): Promise<boolean> {
    return this.service.remove(actorOf(ctx, requirePrincipal(ctx)), userId);
  }
}
