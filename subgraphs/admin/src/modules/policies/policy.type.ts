import { Field, ID, ObjectType } from "type-graphql";

@ObjectType("PolicySubjects", { description: "Whom a policy applies to: any of these roles, users or API keys" })
export class PolicySubjects {
  @Field((_type) => [String], { description: "Roles: owner, admin, developer, viewer" })
  roles!: string[];

  @Field((_type) => [ID])
  userIds!: string[];

  @Field((_type) => [ID])
  apiKeyIds!: string[];
}

@ObjectType("PolicyResources", {
  description:
    "What a policy covers. Each non-empty list must match (one entry of it); an empty list matches everything",
})
export class PolicyResources {
  @Field((_type) => [ID])
  serverIds!: string[];

  @Field((_type) => [String], { description: "Server tags (any of them)" })
  tags!: string[];

  @Field((_type) => [String], { description: "Server environments: development, staging, production" })
  environments!: string[];

  @Field((_type) => [String], {
    description: "Capability name patterns: `*` matches any run of characters; case-insensitive",
  })
  capabilityNames!: string[];

  @Field((_type) => [String], { description: "Capability kinds: tool, resource, resource_template, prompt" })
  capabilityKinds!: string[];
}

@ObjectType("Policy", {
  description: "An allow or deny rule over discover, call_tool and read. Deny wins; no allow means the default",
})
export class Policy {
  @Field((_type) => ID)
  id!: string;

  @Field((_type) => String)
  name!: string;

  @Field((_type) => String, { nullable: true })
  description!: string | null;

  @Field((_type) => String, { description: "allow or deny" })
  effect!: string;

  @Field((_type) => [String], { description: "discover, call_tool, read" })
  actions!: string[];

  @Field((_type) => PolicySubjects)
  subjects!: PolicySubjects;

  @Field((_type) => PolicyResources)
  resources!: PolicyResources;

  @Field((_type) => Date)
  createdAt!: Date;

  @Field((_type) => Date)
  updatedAt!: Date;
}

@ObjectType("PolicyConnection", { description: "A page of policies, newest first" })
export class PolicyConnection {
  @Field((_type) => [Policy])
  items!: Policy[];

  @Field((_type) => String, { nullable: true })
  nextCursor!: string | null;
}

@ObjectType("ApplicablePolicies", { description: "The policies that apply to the caller, and the default" })
export class ApplicablePolicies {
  @Field((_type) => String, {
    description: "open (allowed unless denied) or closed (refused unless allowed): the organization's default",
  })
  defaultAccess!: string;

  @Field((_type) => [Policy], { description: "Every policy whose subjects include the caller, oldest first" })
  items!: Policy[];
}
