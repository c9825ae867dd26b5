import { Field, ID, ObjectType } from "type-graphql";

@ObjectType("ApiKey", { description: "An API key; the secret itself is shown only once, when it is created" })
export class ApiKey {
  @Field((_type) => ID)
  id!: string;

  @Field((_type) => String)
  name!: string;

  @Field((_type) => String, { description: "Public part of the key (`sc_…`) that identifies it in lists and logs" })
  prefix!: string;

  @Field((_type) => [String], { description: "What the key may do, within its user's role" })
  scopes!: string[];

  @Field((_type) => Date, { nullable: true })
  expiresAt!: Date | null;

  @Field((_type) => Date, { nullable: true })
  revokedAt!: Date | null;

  @Field((_type) => Date, { nullable: true })
  lastUsedAt!: Date | null;

  @Field((_type) => Date)
  createdAt!: Date;

  @Field((_type) => ID, { description: "The user the key acts as" })
  userId!: string;
}

@ObjectType("ApiKeyConnection", { description: "A page of API keys" })
export class ApiKeyConnection {
  @Field((_type) => [ApiKey])
  items!: ApiKey[];

  @Field((_type) => String, { nullable: true, description: "Pass as `cursor` for the next page; null on the last" })
  nextCursor!: string | null;
}

@ObjectType("CreatedApiKey", { description: "A new API key and its secret" })
export class CreatedApiKey {
  @Field((_type) => ApiKey)
  apiKey!: ApiKey;

  @Field((_type) => String, { description: "The full key. It is not stored and cannot be shown again" })
  key!: string;
}
