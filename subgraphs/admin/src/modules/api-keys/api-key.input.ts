import { Field, InputType } from "type-graphql";

@InputType("CreateApiKeyInput")
export class CreateApiKeyInput {
  @Field((_type) => String)
  name!: string;

  @Field((_type) => [String], {
    nullable: true,
    description: "A subset of the caller's scopes; default: all of the caller's current scopes",
  })
  scopes?: string[] | null;

  @Field((_type) => Date, {
    nullable: true,
    description:
      "Must be in the future; default: never expires. A key created with an API key expires no later than that key (a later date is lowered to its expiry) and is revoked with it",
  })
  expiresAt?: Date | null;
}
