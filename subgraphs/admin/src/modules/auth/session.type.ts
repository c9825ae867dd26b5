import { Field, ID, Int, ObjectType } from "type-graphql";

@ObjectType("AuthTokens", { description: "An access token for the API and the refresh token that renews it" })
export class AuthTokens {
  @Field((_type) => String, { description: "Send as `Authorization: Bearer <accessToken>`" })
  accessToken!: string;

  @Field((_type) => String, { description: "Always `Bearer`" })
  tokenType!: string;

  @Field((_type) => Int, { description: "Seconds the access token is valid (JWT_ACCESS_TOKEN_TTL_SECONDS)" })
  expiresIn!: number;

  @Field((_type) => Date)
  expiresAt!: Date;

  @Field((_type) => String, {
    description: "Opaque; shown once. Use it once with refreshAccessToken: reusing it ends the login",
  })
  refreshToken!: string;

  @Field((_type) => Date, { description: "When the login ends (JWT_REFRESH_TOKEN_TTL_SECONDS after it began)" })
  refreshExpiresAt!: Date;

  @Field((_type) => ID)
  userId!: string;

  @Field((_type) => ID)
  organizationId!: string;
}
