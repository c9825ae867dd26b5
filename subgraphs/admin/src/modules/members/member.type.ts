import { Field, ID, ObjectType } from "type-graphql";
import { MembershipStatus, Role } from "../shared/enums";

@ObjectType("User", { description: "A person; one user may belong to several organizations" })
export class User {
  @Field((_type) => ID)
  id!: string;

  @Field((_type) => String)
  email!: string;

  @Field((_type) => String, { nullable: true })
  name!: string | null;
}

@ObjectType("Membership", { description: "A user's membership of the caller's organization" })
export class Membership {
  @Field((_type) => ID)
  id!: string;

  @Field((_type) => User)
  user!: User;

  @Field((_type) => Role)
  role!: Role;

  @Field((_type) => MembershipStatus, {
    description: "`invited` until the person first logs in with the invited email (OIDC login)",
  })
  status!: MembershipStatus;

  @Field((_type) => Date)
  createdAt!: Date;
}

@ObjectType("MembershipConnection", { description: "A page of members" })
export class MembershipConnection {
  @Field((_type) => [Membership])
  items!: Membership[];

  @Field((_type) => String, { nullable: true, description: "Pass as `cursor` for the next page; null on the last" })
  nextCursor!: string | null;
}
