import { Field, ID, InputType } from "type-graphql";

@InputType("PolicySubjectsInput", { description: "At least one role, user or API key" })
export class PolicySubjectsInput {
  @Field((_type) => [String], { nullable: true })
  roles?: string[] | null;

  @Field((_type) => [ID], { nullable: true })
  userIds?: string[] | null;

  @Field((_type) => [ID], { nullable: true })
  apiKeyIds?: string[] | null;
}

@InputType("PolicyResourcesInput", { description: "Omitted or empty lists match everything" })
export class PolicyResourcesInput {
  @Field((_type) => [ID], { nullable: true })
  serverIds?: string[] | null;

  @Field((_type) => [String], { nullable: true })
  tags?: string[] | null;

  @Field((_type) => [String], { nullable: true })
  environments?: string[] | null;

  @Field((_type) => [String], { nullable: true, description: "Name patterns; `*` matches any run of characters" })
  capabilityNames?: string[] | null;

  @Field((_type) => [String], { nullable: true })
  capabilityKinds?: string[] | null;
}

@InputType("CreatePolicyInput")
export class CreatePolicyInput {
  @Field((_type) => String, { description: "Unique in the organization" })
  name!: string;

  @Field((_type) => String, { nullable: true })
  description?: string | null;

  @Field((_type) => String, { description: "allow or deny" })
  effect!: string;

  @Field((_type) => [String], { description: "One or more of discover, call_tool, read" })
  actions!: string[];

  @Field((_type) => PolicySubjectsInput)
  subjects!: PolicySubjectsInput;

  @Field((_type) => PolicyResourcesInput, { nullable: true })
  resources?: PolicyResourcesInput | null;
}

@InputType("UpdatePolicyInput", {
  description: "Fields to change; omitted ones stay. subjects and resources are replaced whole",
})
export class UpdatePolicyInput {
  @Field((_type) => String, { nullable: true })
  name?: string | null;

  @Field((_type) => String, { nullable: true })
  description?: string | null;

  @Field((_type) => String, { nullable: true })
  effect?: string | null;

  @Field((_type) => [String], { nullable: true })
  actions?: string[] | null;

  @Field((_type) => PolicySubjectsInput, { nullable: true })
  subjects?: PolicySubjectsInput | null;

  @Field((_type) => PolicyResourcesInput, { nullable: true })
  resources?: PolicyResourcesInput | null;
}
