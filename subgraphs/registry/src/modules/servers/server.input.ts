import { JSONObjectScalar } from "@sprintconnect/subgraph-kit";
import { Field, InputType } from "type-graphql";
import { McpEnvironment, McpServerStatus, McpTransport } from "../shared/enums";

@InputType("McpCredentialsInput", {
  description:
    "Credentials sent on every connection: a bearer token or custom headers (exactly one). Stored in the secret store, never returned.",
})
export class McpCredentialsInput {
  @Field((_type) => String, { nullable: true, description: "Sent as `Authorization: Bearer <token>`" })
  bearerToken?: string | null;

  @Field((_type) => JSONObjectScalar, { nullable: true, description: "Header name → value" })
  headers?: Record<string, unknown> | null;
}

@InputType("RegisterMcpServerInput")
export class RegisterMcpServerInput {
  @Field((_type) => String)
  name!: string;

  @Field((_type) => String, { nullable: true })
  description?: string | null;

  @Field((_type) => String)
  baseUrl!: string;

  @Field((_type) => McpTransport, { nullable: true, defaultValue: McpTransport.streamable_http })
  transport?: McpTransport;

  @Field((_type) => McpEnvironment, { nullable: true, defaultValue: McpEnvironment.development })
  environment?: McpEnvironment;

  @Field((_type) => [String], { nullable: true })
  tags?: string[] | null;

  @Field((_type) => JSONObjectScalar, { nullable: true })
  metadata?: Record<string, unknown> | null;

  @Field((_type) => McpCredentialsInput, { nullable: true })
  credentials?: McpCredentialsInput | null;
}

@InputType("UpdateMcpServerInput", { description: "Fields to change; omitted fields stay as they are" })
export class UpdateMcpServerInput {
  @Field((_type) => String, { nullable: true })
  name?: string | null;

  @Field((_type) => String, { nullable: true, description: "null clears the description" })
  description?: string | null;

  @Field((_type) => String, { nullable: true })
  baseUrl?: string | null;

  @Field((_type) => McpTransport, { nullable: true })
  transport?: McpTransport | null;

  @Field((_type) => McpEnvironment, { nullable: true })
  environment?: McpEnvironment | null;

  @Field((_type) => [String], { nullable: true })
  tags?: string[] | null;

  @Field((_type) => JSONObjectScalar, { nullable: true })
  metadata?: Record<string, unknown> | null;

  @Field((_type) => McpServerStatus, { nullable: true })
  status?: McpServerStatus | null;

  @Field((_type) => McpCredentialsInput, { nullable: true, description: "New credentials; null removes them" })
  credentials?: McpCredentialsInput | null;

  @Field((_type) => Boolean, {
    nullable: true,
    description:
      "Credentials are bound to the origin of the URL they were stored for. A baseUrl on another origin without new credentials drops them; with keepCredentials: true it is refused with CREDENTIALS_REQUIRED instead",
  })
  keepCredentials?: boolean | null;
}
