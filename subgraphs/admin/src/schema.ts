import type { AuthInvalidator, KeyRing, PrismaClient } from "@sprintconnect/core";
import { buildFederatedSchema } from "@sprintconnect/subgraph-kit";
import type { GraphQLSchema } from "graphql";
import { ApiKeyRepository } from "./modules/api-keys/api-key.repository";
import { ApiKeyResolver } from "./modules/api-keys/api-key.resolver";
import { ApiKeyService } from "./modules/api-keys/api-key.service";
import { AuditRepository } from "./modules/audit/audit.repository";
import { AuditResolver } from "./modules/audit/audit.resolver";
import { AuditService } from "./modules/audit/audit.service";
import { MemberRepository } from "./modules/members/member.repository";
import { MemberResolver } from "./modules/members/member.resolver";
import { MemberService } from "./modules/members/member.service";
import { OrganizationRepository } from "./modules/organizations/organization.repository";
import { OrganizationResolver } from "./modules/organizations/organization.resolver";
import { OrganizationService } from "./modules/organizations/organization.service";
// ---- access policies (issue 9) ----
import { PolicyRepository } from "./modules/policies/policy.repository";
import { PolicyResolver } from "./modules/policies/policy.resolver";
import { PolicyService } from "./modules/policies/policy.service";
// ---- end access policies ----

export interface AdminSchemaOptions {
  /** HMAC key that API keys are stored under (API_KEY_ENCRYPTION_KEY or the dev key). */
  apiKeyPepper: string;
  /** The deployment's signing key ring: verification signs an anchor of the audit log's head. */
  keys: KeyRing;
  /** Tells the gateways, after commit, of revoked keys, removed members and changed roles. */
  invalidate: AuthInvalidator;
}

/** The admin subgraph's schema, with its services wired to `db`. */
export function buildAdminSchema(db: PrismaClient, options: AdminSchemaOptions): Promise<GraphQLSchema> {
  const members = new MemberRepository(db);
  const apiKeyRepository = new ApiKeyRepository(db);
  const apiKeys = new ApiKeyService(db, apiKeyRepository, options.apiKeyPepper, options.invalidate);
  const organizations = new OrganizationService(db, new OrganizationRepository(db), members, apiKeys);
  const instances = new Map<unknown, unknown>([
    [OrganizationResolver, new OrganizationResolver(organizations)],
    [MemberResolver, new MemberResolver(new MemberService(db, members, apiKeyRepository, options.invalidate))],
    [ApiKeyResolver, new ApiKeyResolver(apiKeys)],
    [AuditResolver, new AuditResolver(new AuditService(new AuditRepository(db, options.keys)))],
    [PolicyResolver, new PolicyResolver(new PolicyService(db, new PolicyRepository(db)))],
  ]);
  return buildFederatedSchema({
    resolvers: [OrganizationResolver, MemberResolver, ApiKeyResolver, AuditResolver, PolicyResolver],
    container: { get: (cls) => instances.get(cls) },
    referenceResolvers: {
      Organization: {
        scopes: ["org:read"],
        resolve: (ref, principal) => organizations.getReference(principal, String(ref.id)),
      },
    },
  });
}
