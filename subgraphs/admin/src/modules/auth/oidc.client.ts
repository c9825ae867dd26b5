import { AppError, ErrorCode, type Logger } from "@sprintconnect/core";
import type { EgressFetch } from "@sprintconnect/mcp";

/** openid-client 6 is an ES module: loaded with import(), which Node allows from CommonJS. */
type OpenIdClient = typeof import("openid-client", { with: { "resolution-mode": "import" }});
type Configuration = import("openid-client", { with: { "resolution-mode": "import" }}).Configuration;

/** Where and as whom we log people in. */
export interface OidcSettings {
  /** The provider's `/.well-known/openid-configuration` URL. */
  discoveryUrl: string;
  clientId: string;
  /** Absent: a public client (PKCE alone authenticates the exchange). */
  clientSecret?: string;
  /** Redirect URIs a login may name; empty: whatever the provider accepts for our client. */
  redirectUris: readonly string[];
  clockToleranceSeconds: number;
  /** http:// issuers are refused in production whatever the configuration says. */
  production: boolean;
}

/** What a login proved about the person: the ID token's claims we use. */
export interface VerifiedIdentity {
  issuer: string;
  subject: string;
  /** Only a hint: used to match an invitation, and only when the provider verified it. */
  email: string | null;
  emailVerified: boolean;
  name: string | null;
}

export interface CodeExchange {
  code: string;
  codeVerifier: string;
  redirectUri: string;
  nonce: string;
  /** The `iss` the provider sent back with the code (RFC 9207), when the client kept it. */
  iss?: string | null;
}

// oauth4webapi's codes for a response or token that failed a check: the grant is bad, the
// provider is fine. Anything else (unreachable, refused by egress, 5xx, not JSON) is ours to retry.
const REFUSED_GRANT_CODES = new Set([
  "OAUTH_JWT_CLAIM_COMPARISON_FAILED",
  "OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED",
  "OAUTH_JWT_TIMESTAMP_CHECK_FAILED",
  "OAUTH_JWS_SIGNATURE_VALIDATION_FAILED",
  "OAUTH_INVALID_RESPONSE",
  "OAUTH_PARSE_ERROR",
  "OAUTH_KEY_SELECTION_FAILED",
  "OAUTH_UNSUPPORTED_OPERATION",
]);

/**
 * The OIDC relying party: discovery (once, then cached), the authorization code exchange with
 * PKCE, and the ID token's checks (issuer, audience, nonce, expiry, and its signature against
 * the provider's JWKS), all by `openid-client`. Every request goes through `fetch`, the egress
 * guard. The provider's error bodies are logged at debug level at most and never returned.
 */
export class OidcClient {
  private config: Promise<Configuration> | null = null;

  constructor(
    private readonly settings: OidcSettings,
    private readonly fetch: EgressFetch,
    private readonly logger: Logger,
  ) {}

  /** Exchanges the code and returns the verified identity; INVALID_GRANT or SERVICE_UNAVAILABLE otherwise. */
  async exchange(input: CodeExchange): Promise<VerifiedIdentity> {
    if (this.settings.redirectUris.length > 0 && !this.settings.redirectUris.includes(input.redirectUri)) {
      throw new AppError(ErrorCode.INVALID_GRANT, "redirectUri is not one of OIDC_REDIRECT_URIS", {
        field: "redirectUri",
      });
    }
    let callback: URL;
    try {
      callback = new URL(input.redirectUri);
    } catch {
      throw new AppError(ErrorCode.VALIDATION_FAILED, "redirectUri must be an absolute URL", { field: "redirectUri" });
    }
    const [client, config] = await Promise.all([loadClient(), this.configuration()]);
    // openid-client sends the callback's origin and path as redirect_uri: a redirect URI with
    // a query string of its own is not supported.
    if (callback.search || callback.hash) {
      throw new AppError(ErrorCode.VALIDATION_FAILED, "redirectUri must not have a query or fragment", {
        field: "redirectUri",
      });
    }
    callback.searchParams.set("code", input.code);
    // We talk to one provider, so the `iss` of the response (mix-up defence) is known; a
    // client that kept the one the provider sent has it compared.
    callback.searchParams.set("iss", input.iss ?? config.serverMetadata().issuer);
    try {
      const tokens = await client.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: input.codeVerifier,
        expectedNonce: input.nonce,
        idTokenExpected: true,
      });
      const claims = tokens.claims();
      if (!claims) throw new AppError(ErrorCode.INVALID_GRANT, "The provider returned no ID token");
      return {
        issuer: claims.iss,
        subject: claims.sub,
        email: typeof claims.email === "string" ? claims.email.toLowerCase() : null,
        emailVerified: claims.email_verified === true,
        name: typeof claims.name === "string" ? claims.name.slice(0, 200) : null,
      };
    } catch (err) {
      throw this.classify(err, client);
    }
  }

  /** The provider's metadata, fetched once; a failed attempt is retried by the next login. */
  private configuration(): Promise<Configuration> {
    this.config ??= this.discover().catch((err: unknown) => {
      this.config = null;
      throw err;
    });
    return this.config;
  }

  private async discover(): Promise<Configuration> {
    const client = await loadClient();
    const url = new URL(this.settings.discoveryUrl);
    const insecure = url.protocol === "http:";
    if (insecure && this.settings.production) {
      throw new AppError(
        ErrorCode.SERVICE_UNAVAILABLE,
        "OIDC login is misconfigured: http:// issuers are refused in production",
      );
    }
    let config: Configuration;
    try {
      config = await client.discovery(
        url,
        this.settings.clientId,
        {
          ...(this.settings.clientSecret ? { client_secret: this.settings.clientSecret } : {}),
          [client.clockTolerance]: this.settings.clockToleranceSeconds,
        },
        this.settings.clientSecret ? client.ClientSecretBasic(this.settings.clientSecret) : client.None(),
        {
          execute: insecure ? [client.allowInsecureRequests] : [],
          [client.customFetch]: this.fetch as never,
          timeout: 10,
        },
      );
    } catch (err) {
      this.logger.warn({ err: describe(err) }, "OIDC discovery failed");
      throw unavailable();
    }
    // The document must be the issuer's own (OpenID Connect Discovery 1.0, section 4): its
    // `issuer` followed by the well-known path is the URL we fetched. Otherwise the ID tokens
    // it describes come from someone else.
    const issuer = config.serverMetadata().issuer;
    const expected = `${issuer.replace(/\/$/, "")}/.well-known/openid-configuration`;
    if (expected !== url.href) {
      this.logger.warn({ issuer, discoveryUrl: url.href }, "OIDC discovery document names another issuer");
      throw unavailable();
    }
    if (this.settings.production && new URL(issuer).protocol !== "https:") throw unavailable();
    client.enableNonRepudiationChecks(config);
    config[client.customFetch] = this.fetch as never;
    return config;
  }

  private classify(err: unknown, client: OpenIdClient): AppError {
    if (err instanceof AppError) return err;
    const code = (err as { code?: unknown }).code;
    const refused =
      err instanceof client.AuthorizationResponseError ||
      (err instanceof client.ResponseBodyError && err.status < 500) ||
      (typeof code === "string" && REFUSED_GRANT_CODES.has(code));
    if (refused) {
      // The provider's `error` code is safe to log; its description and body are not passed on.
      this.logger.info({ err: describe(err) }, "OIDC code exchange refused");
      return new AppError(
        ErrorCode.INVALID_GRANT,
        "The authorization code, PKCE verifier, redirect URI, nonce or ID token was refused",
      );
    }
    this.logger.warn({ err: describe(err) }, "OIDC code exchange failed");
    return unavailable();
  }
}

function unavailable(): AppError {
  return new AppError(ErrorCode.SERVICE_UNAVAILABLE, "The OIDC provider is unavailable or misconfigured; retry later");
}

/** What is safe to log about a failure: class, oauth code and the provider's `error` code, never bodies or tokens. */
function describe(err: unknown): Record<string, unknown> {
  const e = err as { name?: unknown; code?: unknown; error?: unknown; status?: unknown; cause?: unknown };
  const cause = e.cause as { name?: unknown; code?: unknown; message?: unknown } | undefined;
  return {
    name: e.name,
    code: e.code,
    error: typeof e.error === "string" ? e.error : undefined,
    status: e.status,
    cause: cause && typeof cause === "object" ? { name: cause.name, code: cause.code } : undefined,
  };
}

let loaded: Promise<OpenIdClient> | null = null;
function loadClient(): Promise<OpenIdClient> {
  loaded ??= import("openid-client");
  return loaded;
}
