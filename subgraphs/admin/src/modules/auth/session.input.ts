import { Field, ID, InputType } from "type-graphql";

@InputType("ExchangeAuthorizationCodeInput", {
  description: "What the client got back from the provider's authorization endpoint, and what it sent there",
})
export class ExchangeAuthorizationCodeInput {
  @Field((_type) => String, { description: "The `code` the provider redirected back with" })
  code!: string;

  @Field((_type) => String, { description: "The PKCE `code_verifier` whose S256 challenge the client sent" })
  codeVerifier!: string;

  @Field((_type) => String, { description: "The `redirect_uri` the client sent (one of OIDC_REDIRECT_URIS when set)" })
  redirectUri!: string;

  @Field((_type) => String, { description: "The `nonce` the client sent; the ID token must carry it" })
  nonce!: string;

  @Field((_type) => String, {
    nullable: true,
    description: "The `iss` the provider redirected back with (RFC 9207), if any",
  })
  iss?: string | null;

  @Field((_type) => ID, {
    nullable: true,
    description: "The organization to act in; default: the only one the person belongs to",
  })
  organizationId?: string | null;
}

@InputType("RefreshAccessTokenInput")
export class RefreshAccessTokenInput {
  @Field((_type) => String, { description: "The newest refresh token of the login; it is used up" })
  refreshToken!: string;

  @Field((_type) => ID, {
    nullable: true,
    description: "Switch the login to another organization the person belongs to; default: the current one",
  })
  organizationId?: string | null;
}

@InputType("LogoutInput")
export class LogoutInput {
  @Field((_type) => String, { description: "Any refresh token of the login: the whole login ends" })
  refreshToken!: string;
}
