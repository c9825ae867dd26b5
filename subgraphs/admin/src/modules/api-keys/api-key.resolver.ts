import { actorOf, requirePrincipal, type SubgraphContext } from "@sprintconnect/subgraph-kit";
import { Arg, Authorized, Ctx, ID, Int, Mutation, Query, Resolver } from "type-graphql";
import { CreateApiKeyInput } from "./api-key.input";
import type { ApiKeyService } from "./api-key.service";
import { ApiKey, ApiKeyConnection, CreatedApiKey } from "./api-key.type";

@Resolver((_of) => ApiKey)
export class ApiKeyResolver {
  constructor(private readonly service: ApiKeyService) {}

  @Authorized("api_keys:write")
  @Query((_returns) => ApiKeyConnection, {
    description: "The caller's API keys, newest first; with api_keys:manage, every key of the organization",
  })
  apiKeys(
    @Ctx() ctx: SubgraphContext,
    @Arg("limit", (_type) => Int, { nullable: true, description: "1 to 100; default 20" }) limit?: number,
    @Arg("cursor", (_type) => String, { nullable: true }) cursor?: string,
  ): Promise<ApiKeyConnection> {
    return this.service.list(requirePrincipal(ctx), limit, cursor);
  }

  @Authorized("api_keys:write")
  @Mutation((_returns) => CreatedApiKey, { description: "The returned `key` is shown only this once" })
  createApiKey(
    @Ctx() ctx: SubgraphContext,
    @Arg("input", (_type) => CreateApiKeyInput) input: CreateApiKeyInput,
  ): Promise<CreatedApiKey> {
    return this.service.create(actorOf(ctx, requirePrincipal(ctx)), input);
  }

  @Authorized("api_keys:write")
  @Mutation((_returns) => ApiKey, {
    description: "Idempotent. Another user's key needs api_keys:manage",
  })
  revokeApiKey(@Ctx() ctx: SubgraphContext, @Arg("id", (_type) => ID) id: string): Promise<ApiKey> {
    return this.service.revoke(actorOf(ctx, requirePrincipal(ctx)), id);
  }
}
