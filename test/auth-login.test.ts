import { randomBytes } from "node:crypto";
import { OidcClient } from "@sprintconnect/admin-subgraph";
import { createLogger, issueAccessToken } from "@sprintconnect/core";
import { EgressGuard, parseEgressPolicy } from "@sprintconnect/mcp";
import { freshLoopbackAddress, graphql, request } from "./support/http";
import { authorize, startProvider, type TestPerson, type TestProvider } from "./support/oidc";
import { createTestOrg, type Stack, startGateway, startStack, type TestOrg } from "./support/stack";

// The redirect URIs are never fetched: the test plays the browser and stops at the redirect.
const CALLBACK = "http://127.0.0.1:9/callback";
const OTHER_CALLBACK = "http://127.0.0.1:9/elsewhere";

let provider: TestProvider;
let stack: Stack;
let org: TestOrg;
let n = 0;

const person = (overrides: Partial<TestPerson> = {}): TestPerson => {
  const id = `${Date.now().toString(36)}-${n++}-${randomBytes(3).toString("hex")}`;
  return { subject: `sub-${id}`, email: `person-${id}@example.test`, ...overrides };
};

beforeAll(async () => {
  provider = await startProvider({ redirectUris: [CALLBACK, OTHER_CALLBACK] });
  stack = await startStack({
    OIDC_DISCOVERY_URL: provider.discoveryUrl,
    OIDC_CLIENT_ID: provider.clientId,
    OIDC_CLIENT_SECRET: provider.clientSecret,
    OIDC_REDIRECT_URIS: CALLBACK,
  });
  org = await createTestOrg(stack, "Login");
});
afterAll(async () => {
  await stack?.close();
  await provider?.stop();
});

/** The whole browser-less flow: authorize at the provider, then POST /auth/token. */
async function login(who: TestPerson, extra: Record<string, unknown> = {}) {
  const auth = await authorize(provider, who, CALLBACK);
  return request(stack.url, "POST", "/auth/token", {
    body: { code: auth.code, codeVerifier: auth.codeVerifier, redirectUri: CALLBACK, nonce: auth.nonce, ...extra },
  });
}

const invite = (organizationKey: string, email: string, role = "developer") =>
  graphql(
    stack.url,
    organizationKey,
    "mutation($input: AddMemberInput!) { addMember(input: $input) { status user { id } } }",
    { input: { email, role } },
  );

const refresh = (refreshToken: string, organizationId?: string) =>
  request(stack.url, "POST", "/auth/refresh", {
    body: { refreshToken, ...(organizationId ? { organizationId } : {}) },
  });

const auditActions = async (organizationId: string, userId: string) =>
  (
    await stack.db.auditLog.findMany({
      where: { organizationId, actorId: userId },
      orderBy: { seq: "asc" },
      select: { action: true },
    })
  ).map((e) => e.action);

describe("logging in with an OIDC provider", () => {
  it("exchanges a code for tokens that work on REST and GraphQL, accepting the email's invitation", async () => {
    const who = person();
    const invited = await invite(org.ownerKey, who.email);
    expect(invited.body.data.addMember.status).toBe("invited");
    const userId = invited.body.data.addMember.user.id as string;

    const res = await login(who);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ tokenType: "Bearer", userId, organizationId: org.organizationId });
    expect(res.body.refreshToken).toMatch(/^scr_/);
    expect(res.body.expiresIn).toBe(stack.env.JWT_ACCESS_TOKEN_TTL_SECONDS);

    const me = await request(stack.url, "GET", "/auth/me", { auth: res.body.accessToken });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ user: { id: userId, email: who.email }, role: "developer", authMethod: "jwt" });
    const servers = await request(stack.url, "GET", "/v1/mcp/servers", { auth: res.body.accessToken });
    expect(servers.status).toBe(200);
    const viaGraphql = await graphql(stack.url, res.body.accessToken, "{ me { organization { id } role } }");
    expect(viaGraphql.body.data.me).toEqual({ organization: { id: org.organizationId }, role: "developer" });

    const user = await stack.db.user.findUniqueOrThrow({ where: { id: userId } });
    expect(user).toMatchObject({ oidcIssuer: provider.issuer, oidcSubject: who.subject });
    expect(await auditActions(org.organizationId, userId)).toContain("auth.login");
    // The refresh token is stored only as a hash.
    expect(await stack.db.refreshToken.count({ where: { hash: res.body.refreshToken } })).toBe(0);
  });

  it("lets the owner named by `org create` log in with that (verified) email", async () => {
    const owner = await stack.db.user.findUniqueOrThrow({ where: { id: org.ownerId } });
    const res = await login(person({ email: owner.email }));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ userId: org.ownerId, organizationId: org.organizationId });
    const me = await request(stack.url, "GET", "/auth/me", { auth: res.body.accessToken });
    expect(me.body.role).toBe("owner");
  });

  it("does not let an invitation act before its person has logged in", async () => {
    const who = person();
    const invited = await invite(org.ownerKey, who.email);
    const userId = invited.body.data.addMember.user.id as string;
    const { token } = await issueAccessToken(
      stack.keys,
      { userId, organizationId: org.organizationId },
      { issuer: stack.env.JWT_ISSUER, ttlSeconds: 60 },
    );
    const res = await request(stack.url, "GET", "/auth/me", { auth: token });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe("UNAUTHENTICATED");
  });

  it("joins no organization without an invitation, and a later invitation of the known person is active at once", async () => {
    const who = person();
    const first = await login(who);
    expect(first.status).toBe(403);
    expect(first.body.error.code).toBe("NO_MEMBERSHIP");
    const user = await stack.db.user.findUniqueOrThrow({ where: { email: who.email } });
    expect(await stack.db.membership.count({ where: { userId: user.id } })).toBe(0);

    const added = await invite(org.ownerKey, who.email, "viewer");
    expect(added.body.data.addMember.status).toBe("active");
    const second = await login(who);
    expect(second.status).toBe(200);
    expect(second.body.organizationId).toBe(org.organizationId);
  });

  it("never claims an invitation with an email the provider did not verify", async () => {
    const who = person({ emailVerified: false });
    await invite(org.ownerKey, who.email);
    const res = await login(who);
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe("NO_MEMBERSHIP");
    const user = await stack.db.user.findUniqueOrThrow({ where: { email: who.email } });
    expect(user.oidcSubject).toBeNull();
  });

  it("never hands an email bound to one identity to another identity", async () => {
    const who = person();
    await invite(org.ownerKey, who.email);
    expect((await login(who)).status).toBe(200);
    const impostor = await login({ subject: `${who.subject}-other`, email: who.email });
    expect(impostor.status).toBe(409);
    expect(impostor.body.error.code).toBe("CONFLICT");
  });

  it("asks a person in several organizations to choose one, and honours the choice", async () => {
    const second = await createTestOrg(stack, "Second");
    const who = person();
    await invite(org.ownerKey, who.email);
    await invite(second.ownerKey, who.email, "admin");

    const ambiguous = await login(who);
    expect(ambiguous.status).toBe(409);
    expect(ambiguous.body.error.code).toBe("ORGANIZATION_REQUIRED");
    expect(ambiguous.body.error.details.organizations.map((o: { id: string }) => o.id).sort()).toEqual(
      [org.organizationId, second.organizationId].sort(),
    );

    const chosen = await login(who, { organizationId: second.organizationId });
    expect(chosen.status).toBe(200);
    expect(chosen.body.organizationId).toBe(second.organizationId);
    const me = await request(stack.url, "GET", "/auth/me", { auth: chosen.body.accessToken });
    expect(me.body.role).toBe("admin");

    // A refresh may switch to another of the person's organizations.
    const switched = await refresh(chosen.body.refreshToken, org.organizationId);
    expect(switched.status).toBe(200);
    expect(switched.body.organizationId).toBe(org.organizationId);

    const notMine = await login(who, { organizationId: (await createTestOrg(stack, "Third")).organizationId });
    expect(notMine.body.error.code).toBe("NO_MEMBERSHIP");
  });

  it("refuses a wrong PKCE verifier, a replayed code and a wrong nonce with INVALID_GRANT", async () => {
    const who = person();
    await invite(org.ownerKey, who.email);

    const wrongVerifier = await login(who, { codeVerifier: randomBytes(32).toString("base64url") });
    expect(wrongVerifier.status).toBe(400);
    expect(wrongVerifier.body.error.code).toBe("INVALID_GRANT");
    // Nothing of the provider's answer (its error description) is passed on: only our fixed message.
    expect(Object.keys(wrongVerifier.body.error).sort()).toEqual(["code", "message", "requestId"]);
    expect(wrongVerifier.body.error.message).toBe(
      "The authorization code, PKCE verifier, redirect URI, nonce or ID token was refused",
    );

    const wrongNonce = await login(who, { nonce: "not-the-nonce-we-sent" });
    expect(wrongNonce.body.error.code).toBe("INVALID_GRANT");

    const auth = await authorize(provider, who, CALLBACK);
    const body = { code: auth.code, codeVerifier: auth.codeVerifier, redirectUri: CALLBACK, nonce: auth.nonce };
    expect((await request(stack.url, "POST", "/auth/token", { body })).status).toBe(200);
    const replayed = await request(stack.url, "POST", "/auth/token", { body });
    expect(replayed.status).toBe(400);
    expect(replayed.body.error.code).toBe("INVALID_GRANT");
  });

  it("refuses a redirect URI that OIDC_REDIRECT_URIS does not list, even one the provider accepts", async () => {
    const who = person();
    await invite(org.ownerKey, who.email);
    const auth = await authorize(provider, who, OTHER_CALLBACK);
    const res = await request(stack.url, "POST", "/auth/token", {
      body: { code: auth.code, codeVerifier: auth.codeVerifier, redirectUri: OTHER_CALLBACK, nonce: auth.nonce },
    });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: "INVALID_GRANT", details: { field: "redirectUri" } });
  });

  it("logs in through GraphQL too, without credentials", async () => {
    const who = person();
    await invite(org.ownerKey, who.email);
    const auth = await authorize(provider, who, CALLBACK);
    const res = await graphql(
      stack.url,
      undefined,
      "mutation($input: ExchangeAuthorizationCodeInput!) { exchangeAuthorizationCode(input: $input) { accessToken organizationId } }",
      {
        input: {
          code: auth.code,
          codeVerifier: auth.codeVerifier,
          redirectUri: CALLBACK,
          nonce: auth.nonce,
          iss: auth.iss,
        },
      },
    );
    expect(res.body.data.exchangeAuthorizationCode.organizationId).toBe(org.organizationId);
  });
});

describe("refresh tokens", () => {
  async function loggedIn() {
    const who = person();
    const invited = await invite(org.ownerKey, who.email);
    const res = await login(who);
    expect(res.status).toBe(200);
    return { userId: invited.body.data.addMember.user.id as string, tokens: res.body };
  }

  it("rotates: each refresh gives a working access token and a new refresh token", async () => {
    const { tokens } = await loggedIn();
    const next = await refresh(tokens.refreshToken);
    expect(next.status).toBe(200);
    expect(next.body.refreshToken).not.toBe(tokens.refreshToken);
    expect(next.body.refreshExpiresAt).toBe(tokens.refreshExpiresAt);
    expect((await request(stack.url, "GET", "/auth/me", { auth: next.body.accessToken })).status).toBe(200);
    const third = await refresh(next.body.refreshToken);
    expect(third.status).toBe(200);
  });

  it("revokes the whole login when a used refresh token comes back, and audits it", async () => {
    const { userId, tokens } = await loggedIn();
    const next = await refresh(tokens.refreshToken);
    expect(next.status).toBe(200);

    const reused = await refresh(tokens.refreshToken);
    expect(reused.status).toBe(400);
    expect(reused.body.error.code).toBe("INVALID_GRANT");
    // The newer token, perhaps in a thief's hands, is dead too.
    const newer = await refresh(next.body.refreshToken);
    expect(newer.status).toBe(400);
    expect(newer.body.error.code).toBe("INVALID_GRANT");
    expect(await auditActions(org.organizationId, userId)).toContain("auth.refresh_reuse_detected");
  });

  it("ends the login on logout", async () => {
    const { userId, tokens } = await loggedIn();
    const out = await request(stack.url, "POST", "/auth/logout", { body: { refreshToken: tokens.refreshToken } });
    expect(out.status).toBe(204);
    expect((await refresh(tokens.refreshToken)).body.error.code).toBe("INVALID_GRANT");
    expect(await auditActions(org.organizationId, userId)).toContain("auth.logout");
    // Unknown tokens answer the same.
    const again = await request(stack.url, "POST", "/auth/logout", { body: { refreshToken: "scr_unknown" } });
    expect(again.status).toBe(204);
  });

  it("refuses garbage refresh tokens with INVALID_GRANT", async () => {
    for (const token of ["", "scr_short", `scr_${"A".repeat(43)}`, "x".repeat(5000)]) {
      const res = await refresh(token);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe("INVALID_GRANT");
    }
  });

  it("takes access away from a removed member at once, with a still-valid access token", async () => {
    const { userId, tokens } = await loggedIn();
    expect((await request(stack.url, "GET", "/auth/me", { auth: tokens.accessToken })).status).toBe(200);
    const removed = await graphql(stack.url, org.ownerKey, "mutation($u: ID!) { removeMember(userId: $u) }", {
      u: userId,
    });
    expect(removed.body.data.removeMember).toBe(true);
    const after = await request(stack.url, "GET", "/auth/me", { auth: tokens.accessToken });
    expect(after.status).toBe(401);
    const refreshed = await refresh(tokens.refreshToken);
    expect(refreshed.status).toBe(403);
    expect(refreshed.body.error.code).toBe("NO_MEMBERSHIP");
  });
});

describe("the public /auth routes", () => {
  it("count refused grants against the client's IP like failed credentials", async () => {
    const gateway = await startGateway(stack, { RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: "3" });
    try {
      const from = freshLoopbackAddress();
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) {
        const res = await request(gateway.url, "POST", "/auth/refresh", {
          from,
          body: { refreshToken: `scr_${randomBytes(32).toString("base64url")}` },
        });
        statuses.push(res.status);
      }
      expect(statuses).toEqual([400, 400, 400, 429, 429]);
    } finally {
      await gateway.app.close();
    }
  });

  it("appear in the OpenAPI document without a security requirement", async () => {
    const doc = await request(stack.url, "GET", "/v1/openapi.json");
    for (const path of ["/auth/token", "/auth/refresh", "/auth/logout"]) {
      expect(doc.body.paths[path].post.security).toEqual([]);
    }
    expect(doc.body.paths["/auth/token"].post.responses["400"].description).toContain("INVALID_GRANT");
  });

  it("answer SERVICE_UNAVAILABLE when OIDC login is not configured", async () => {
    const plain = await startStack();
    try {
      const res = await request(plain.url, "POST", "/auth/token", {
        body: { code: "c", codeVerifier: "v", redirectUri: CALLBACK, nonce: "n" },
      });
      expect(res.status).toBe(503);
      // The subgraph's own message says what is unavailable (a gateway-side failure stays generic).
      expect(res.body.error).toMatchObject({ code: "SERVICE_UNAVAILABLE", message: "OIDC login is not configured" });
    } finally {
      await plain.close();
    }
  });
});

describe("the ID token and the provider's identity", () => {
  const logger = createLogger("test", "silent");
  const egress = new EgressGuard(parseEgressPolicy(["127.0.0.1"])).fetch;
  const client = (p: TestProvider) =>
    new OidcClient(
      {
        discoveryUrl: p.discoveryUrl,
        clientId: p.clientId,
        clientSecret: p.clientSecret,
        redirectUris: [CALLBACK],
        clockToleranceSeconds: 0,
        production: false,
      },
      egress,
      logger,
    );

  /** What exchanging a code from a provider started with `settings` answers. */
  async function exchangeAt(settings: { clockOffsetSeconds?: number; issuerHost?: string }) {
    const other = await startProvider({ redirectUris: [CALLBACK], ...settings });
    try {
      const auth = await authorize(other, person(), CALLBACK);
      return await client(other).exchange(auth);
    } finally {
      await other.stop();
    }
  }

  it("refuses an expired ID token", async () => {
    await expect(exchangeAt({ clockOffsetSeconds: -3600 })).rejects.toMatchObject({ code: "INVALID_GRANT" });
  });

  it("refuses a provider whose discovery document names another issuer", async () => {
    await expect(exchangeAt({ issuerHost: "localhost" })).rejects.toMatchObject({ code: "SERVICE_UNAVAILABLE" });
  });

  it("reaches the provider only through the egress guard", async () => {
    const closed = new OidcClient(
      {
        discoveryUrl: provider.discoveryUrl,
        clientId: provider.clientId,
        clientSecret: provider.clientSecret,
        redirectUris: [],
        clockToleranceSeconds: 0,
        production: false,
      },
      new EgressGuard(parseEgressPolicy(["*"])).fetch,
      logger,
    );
    const auth = await authorize(provider, person(), CALLBACK);
    await expect(closed.exchange(auth)).rejects.toMatchObject({ code: "SERVICE_UNAVAILABLE" });
  });

  it("accepts the same provider's fresh ID token (the control for the two refusals above)", async () => {
    const auth = await authorize(provider, person(), CALLBACK);
    await expect(client(provider).exchange(auth)).resolves.toMatchObject({
      issuer: provider.issuer,
      emailVerified: true,
    });
  });
});
