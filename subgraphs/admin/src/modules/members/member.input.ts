import { Field, InputType } from "type-graphql";
import { Role } from "../shared/enums";

@InputType("AddMemberInput", { description: "The user is created if no user has this email yet" })
export class AddMemberInput {
  @Field((_type) => String)
  email!: string;

  @Field((_type) => String, { nullable: true, description: "Used only when the user is new" })
  name?: string | null;

  @Field((_type) => Role)
  role!: Role;
}
