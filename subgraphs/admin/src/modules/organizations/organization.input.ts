import { Field, InputType } from "type-graphql";

@InputType("UpdateOrganizationSettingsInput", { description: "Settings to change; omitted ones stay" })
export class UpdateOrganizationSettingsInput {
  @Field((_type) => Boolean, {
    nullable: true,
    description:
      "After a server's first discovery, hold tools that appear (new, or back after being removed) for review like changed ones. Default true",
  })
  holdNewCapabilitiesForReview?: boolean | null;
}
