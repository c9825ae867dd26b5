import type { SubgraphContext } from "@sprintconnect/subgraph-kit";
import { Arg, Ctx, Mutation, Resolver } from "type-graphql";
import { ExchangeAuthorizationCodeInput, LogoutInput, RefreshAccessTokenInput } from "./session.input";
import type { SessionService } from "./session.service";
import { AuthTokens } from "./session.type";

/**
 * Logging in, refreshing and logging out: the only operations that need no principal (their
 * credentials are in the input). The gateway counts their INVALID_GRANT answers as failed
 * authentications of the client's IP.
 */
@Resolver((_of) => AuthTokens)
export class SessionResolver {
  constructor(private readonly service: SessionService) {}

  @Mutation((_returns) => AuthTokens, {
    description:
      "Exchange an OIDC authorization code (PKCE) for an access token and a refresh token. No credentials needed",
  })
  exchangeAuthorizationCode(
    @Ctx() ctx: SubgraphContext,
    @Arg("input", (_type) => ExchangeAuthorizationCodeInput) input: ExchangeAuthorizationCodeInput,
  ): Promise<AuthTokens> {
    return this.service.login({ requestId: ctx.requestId, ip: ctx.ip }, input);
  }

  @Mutation((_returns) => AuthTokens, {
    description: "Use up a refresh token for a new access token and the next refresh token. No credentials needed",
  })
  refreshAccessToken(
    @Ctx() ctx: SubgraphContext,
    @Arg("input", (_type) => RefreshAccessTokenInput) input: RefreshAccessTokenInput,
  ): Promise<AuthTokens> {
    return this.service.refresh({ requestId: ctx.requestId, ip: ctx.ip }, input.refreshToken, input.organizationId);
  }

  @Mutation((_returns) => Boolean, {
    description: "End the login a refresh token belongs to (every token of it). Always true. No credentials needed",
  })
  logout(@Ctx() ctx: SubgraphContext, @Arg("input", (_type) => LogoutInput) input: LogoutInput): Promise<boolean> {
    return this.service.logout({ requestId: ctx.requestId, ip: ctx.ip }, input.refreshToken);
  }
}
