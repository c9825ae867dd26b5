import { JSONObjectScalar } from "@sprintconnect/subgraph-kit";
import { Field, InputType } from "type-graphql";

@InputType("UpdateMcpCapabilityInput", { description: "Configuration of a capability; omitted fields stay" })
export class UpdateMcpCapabilityInput {
  @Field((_type) => Boolean, { nullable: true })
  enabled?: boolean | null;

  @Field((_type) => JSONObjectScalar, { nullable: true })
  metadata?: Record<string, unknown> | null;

  @Field((_type) => Boolean, {
    nullable: true,
    description: "false marks a held tool as reviewed (needs capabilities:review)",
  })
  reviewRequired?: boolean | null;
}
