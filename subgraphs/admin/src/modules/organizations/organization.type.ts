import { Directive, Field, ID, ObjectType } from "type-graphql";
import { ApiKey } from "../api-keys/api-key.type";
import { User } from "../members/member.type";
import { Role } from "../shared/enums";

@Directive('@key(fields: "id")')
@ObjectType("Organization", { description: "A tenant: its members, keys, servers and logs are its own" })
export class Organization {
  @Field((_type) => ID)
  id!: string;

  @Field((_type) => String)
  name!: string;

  @Field((_type) => String, { description: "Unique, URL-safe name" })
  slug!: string;

  @Field((_type) => Boolean, {
    description:
      "After a server's first discovery, tools that appear (new, or back after being removed) are held for review like changed ones",
  })
  holdNewCapabilitiesForReview!: boolean;

  // ---- access policies (issue 9) ----
  @Field((_type) => String, {
    description: "open: allowed unless an access policy denies; closed: refused unless one allows",
  })
  defaultAccess!: string;
  // ---- end access policies ----

  @Field((_type) => Date)
  createdAt!: Date;

  @Field((_type) => Date)
  updatedAt!: Date;
}

@ObjectType("Me", { description: "The caller: who they are, where, and what they may do" })
export class Me {
  @Field((_type) => User)
  user!: User;

  @Field((_type) => Organization)
  organization!: Organization;

  @Field((_type) => Role)
  role!: Role;

  @Field((_type) => [String], { description: "Effective scopes: the role's, narrowed by the API key's" })
  scopes!: string[];

  @Field((_type) => String, { description: "jwt or api_key" })
  authMethod!: string;

  @Field((_type) => ApiKey, { nullable: true, description: "The key used, when authenticated by an API key" })
  apiKey!: ApiKey | null;
}
