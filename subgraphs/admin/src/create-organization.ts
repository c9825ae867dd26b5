import type { PrismaClient } from "@sprintconnect/core";
import { ApiKeyRepository } from "./modules/api-keys/api-key.repository";
import { ApiKeyService } from "./modules/api-keys/api-key.service";
import { MemberRepository } from "./modules/members/member.repository";
import { OrganizationRepository } from "./modules/organizations/organization.repository";
import {
  type CreatedOrganization,
  type CreateOrganizationInput,
  OrganizationService,
} from "./modules/organizations/organization.service";

export type { CreatedOrganization, CreateOrganizationInput };

/**
 * Creates an organization, its owner (reusing the user with that email if there is one) and
 * an owner API key named "owner key", in one transaction, with audit entries and events.
 * For the CLI and tests: no GraphQL, no caller. `pepper` is the API key HMAC key.
 */
export function createOrganization(
  db: PrismaClient,
  pepper: string,
  input: CreateOrganizationInput,
): Promise<CreatedOrganization> {
  // Creating an organization revokes nothing and changes no access: nobody needs to hear of it.
  const nobody = async () => undefined;
  const apiKeys = new ApiKeyService(db, new ApiKeyRepository(db), pepper, nobody);
  const service = new OrganizationService(
    db,
    new OrganizationRepository(db),
    new MemberRepository(db),
    apiKeys,
    nobody,
  );
  return service.create(input);
}
