import { Field, InputType } from "type-graphql";

@InputType("UpdateOrganizationSettingsInput", { description: "Settings to change; omitted ones stay" })
export class UpdateOrganizationSettingsInput {
  @Field((_type) => Boolean, {
    nullable: true,
    description:
      "After a server's first discovery, hold tools that appear (new, or back after being removed) for review like changed ones. Default true",
  })
  holdNewCapabilitiesForReview?: boolean | null;

  // ---- access policies (issue 9) ----
  @Field((_type) => String, {
    nullable: true,
    description:
      "What a caller may do when no access policy allows it: open (allowed unless a policy denies; the default) or closed (refused unless a policy allows)",
  })
  defaultAccess?: string | null;
  // ---- end access policies ----
}
