import { actorOf, requirePrincipal, type SubgraphContext } from "@sprintconnect/subgraph-kit";
import { Arg, Authorized, Ctx, Mutation, Query, Resolver } from "type-graphql";
import { UpdateOrganizationSettingsInput } from "./organization.input";
import type { OrganizationService } from "./organization.service";
import { Me, Organization } from "./organization.type";

@Resolver((_of) => Organization)
export class OrganizationResolver {
  constructor(private readonly service: OrganizationService) {}

  @Authorized("org:read")
  @Query((_returns) => Organization, { description: "The caller's organization" })
  organization(@Ctx() ctx: SubgraphContext): Promise<Organization> {
    return this.service.get(requirePrincipal(ctx));
  }

  @Authorized("org:manage")
  @Mutation((_returns) => Organization, { description: "Changes the caller's organization's settings" })
  updateOrganizationSettings(
    @Ctx() ctx: SubgraphContext,
    @Arg("input", (_type) => UpdateOrganizationSettingsInput) input: UpdateOrganizationSettingsInput,
  ): Promise<Organization> {
    return this.service.updateSettings(actorOf(ctx, requirePrincipal(ctx)), input);
  }

  // Any authenticated caller may ask who they are; no scope is needed.
  @Authorized()
  @Query((_returns) => Me, { description: "The caller: user, organization, role, scopes and API key" })
  me(@Ctx() ctx: SubgraphContext): Promise<Me> {
    return this.service.me(requirePrincipal(ctx));
  }
}
