import { requirePrincipal, type SubgraphContext } from "@sprintconnect/subgraph-kit";
import { Authorized, Ctx, Query, Resolver } from "type-graphql";
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

  // Any authenticated caller may ask who they are; no scope is needed.
  @Authorized()
  @Query((_returns) => Me, { description: "The caller: user, organization, role, scopes and API key" })
  me(@Ctx() ctx: SubgraphContext): Promise<Me> {
    return this.service.me(requirePrincipal(ctx));
  }
}
