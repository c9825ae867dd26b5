import type { AccessChangeNotifier, AuthInvalidator, KeyRing, Logger, PrismaClient } from "@sprintconnect/core";
import type { EgressFetch } from "@sprintconnect/mcp";
import { buildFederatedSchema } from "@sprintconnect/subgraph-kit";
import type { GraphQLSchema } from "graphql";
import { ApiKeyRepository } from "./modules/api-keys/api-key.repository";
import { ApiKeyResolver } from "./modules/api-keys/api-key.resolver";
import { ApiKeyService } from "./modules/api-keys/api-key.service";
import { AuditRepository } from "./modules/audit/audit.repository";
import { AuditResolver } from "./modules/audit/audit.resolver";
import { AuditService } from "./modules/audit/audit.service";
import { OidcClient, type OidcSettings } from "./modules/auth/oidc.client";
import { SessionRepository } from "./modules/auth/session.repository";
import { SessionResolver } from "./modules/auth/session.resolver";
import { SessionService } from "./modules/auth/session.service";
import { MemberRepository } from "./modules/members/member.repository";
import { MemberResolver } from "./modules/members/member.resolver";
import { MemberService } from "./modules/members/member.service";
import { OrganizationRepository } from "./modules/organizations/organization.repository";
import { OrganizationResolver } from "./modules/organizations/organization.resolver";
import { OrganizationService } from "./modules/organizations/organization.service";
// --- end webhooks ---
// ---- access policies (issue 9) ----
import { PolicyRepository } from "./modules/policies/policy.repository";
import { PolicyResolver } from "./modules/policies/policy.resolver";
import { PolicyService } from "./modules/policies/policy.service";
// --- webhooks (issue 10) ---
import { WebhookRepository } from "./modules/webhooks/webhook.repository";
import { WebhookResolver } from "./modules/webhooks/webhook.resolver";
import { type WebhookDeps, WebhookService } from "./modules/webhooks/webhook.service";
// ---- end access policies ----

export interface AdminSchemaOptions {
  /** HMAC key that API keys are stored under (API_KEY_ENCRYPTION_KEY or the dev key). */
  apiKeyPepper: string;
  /** The deployment's signing key ring: verification signs an anchor of the audit log's head. */
  keys: KeyRing;
  /** Tells the gateways, after commit, of revoked keys, removed members and changed roles. */
  invalidate: AuthInvalidator;
  /** Moves an organization's access epoch, after commit, when its policies or default access change. */
  accessChanged: AccessChangeNotifier;
  // --- webhooks (issue 10) ---
  /** Egress check, secret store and delivery queue of the webhooks module. */
  webhooks: WebhookDeps;
  // --- end webhooks ---
  /** OIDC login and refresh tokens (issue 9). */
  login: LoginOptions;
}

/** What logging in needs: the provider (null: OIDC login off), token lifetimes and the way out. */
export interface LoginOptions {
  oidc: OidcSettings | null;
  /** `iss` of the access tokens (JWT_ISSUER). */
  issuer: string;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  /** Every request to the provider goes through it (the egress guard's fetch). */
  egress: EgressFetch;
  logger: Logger;
}

/** The admin subgraph's schema, with its services wired to `db`. */
export function buildAdminSchema(db: PrismaClient, options: AdminSchemaOptions): Promise<GraphQLSchema> {
  const members = new MemberRepository(db);
  const apiKeyRepository = new ApiKeyRepository(db);
  const apiKeys = new ApiKeyService(db, apiKeyRepository, options.apiKeyPepper, options.invalidate);
  const organizations = new OrganizationService(
    db,
    new OrganizationRepository(db),
    members,
    apiKeys,
    options.accessChanged,
  );
  const instances = new Map<unknown, unknown>([
    [OrganizationResolver, new OrganizationResolver(organizations)],
    [MemberResolver, new MemberResolver(new MemberService(db, members, apiKeyRepository, options.invalidate))],
    [ApiKeyResolver, new ApiKeyResolver(apiKeys)],
    [AuditResolver, new AuditResolver(new AuditService(new AuditRepository(db, options.keys)))],
    [SessionResolver, new SessionResolver(sessionService(db, options))],
    // webhooks (issue 10)
    [WebhookResolver, new WebhookResolver(new WebhookService(db, new WebhookRepository(db), options.webhooks))],
    [PolicyResolver, new PolicyResolver(new PolicyService(db, new PolicyRepository(db), options.accessChanged))],
  ]);
  return buildFederatedSchema({
    resolvers: [
      OrganizationResolver,
      MemberResolver,
      ApiKeyResolver,
      AuditResolver,
      SessionResolver,
      WebhookResolver, // webhooks (issue 10)
      PolicyResolver,
    ],
    container: { get: (cls) => instances.get(cls) },
    referenceResolvers: {
      Organization: {
        scopes: ["org:read"],
        resolve: (ref, principal) => organizations.getReference(principal, String(ref.id)),
      },
    },
  });
}

function sessionService(db: PrismaClient, options: AdminSchemaOptions): SessionService {
  const { login } = options;
  return new SessionService(
    db,
    new SessionRepository(),
    login.oidc ? new OidcClient(login.oidc, login.egress, login.logger) : null,
    {
      keys: options.keys,
      issuer: login.issuer,
      accessTokenTtlSeconds: login.accessTokenTtlSeconds,
      refreshTokenTtlSeconds: login.refreshTokenTtlSeconds,
    },
    login.logger,
  );
}
