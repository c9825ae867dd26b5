import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { AUTH_EPOCH_KEY, AUTH_INVALIDATION_CHANNEL, Redis, redisChannel } from "@sprintconnect/core";
import type { FastifyInstance } from "fastify";
import { graphql, request } from "./support/http";
import { createTestOrg, type Stack, startGateway, startStack, type TestOrg } from "./support/stack";
import { waitFor } from "./support/wait";

/**
 * The gateways' authentication cache: what the API revokes, removes or changes is refused or
 * seen by the very next request on EVERY gateway instance (two here, each with its own cache,
 * sharing Redis and PostgreSQL), and what bypasses the API is bounded by the cache's TTL.
 */

const TTL_SECONDS = 3;
let stack: Stack;
let second: { url: string; app: FastifyInstance };
let org: TestOrg;

beforeAll(async () => {
  stack = await startStack({ AUTH_CACHE_TTL_SECONDS: String(TTL_SECONDS) });
  second = await startGateway(stack);
  org = await createTestOrg(stack, "Cached");
});
afterAll(async () => {
  await second?.app.close();
  await stack.close();
});

const gateways = () => [stack.url, second.url];
/** The status of `GET /auth/me` with `credential` on each gateway. */
const statuses = (credential: string) =>
  Promise.all(gateways().map(async (url) => (await request(url, "GET", "/auth/me", { auth: credential })).status));
const roles = (credential: string) =>
  Promise.all(gateways().map(async (url) => (await graphql(url, credential, "{ me { role } }")).body.data?.me?.role));
const keyIdOf = async (userId: string) =>
  (await stack.db.apiKey.findFirstOrThrow({ where: { userId, organizationId: org.organizationId } })).id;

describe("the authentication cache", () => {
  it("refuses a revoked key, and every key created with it, on every gateway at once", async () => {
    const dev = await org.member("developer");
    const parent = (await request(stack.url, "POST", "/auth/api-keys", { auth: dev.token, body: { name: "p" } })).body;
    const child = (await request(second.url, "POST", "/auth/api-keys", { auth: parent.key, body: { name: "c" } })).body;
    // Both gateways have both keys cached now.
    expect([...(await statuses(parent.key)), ...(await statuses(child.key))]).toEqual([200, 200, 200, 200]);

    const revoked = await request(stack.url, "DELETE", `/auth/api-keys/${parent.apiKey.id}`, { auth: dev.apiKey });
    expect(revoked.status).toBe(204);
    expect(await statuses(parent.key)).toEqual([401, 401]);
    expect(await statuses(child.key)).toEqual([401, 401]);
    expect(await statuses(dev.apiKey)).toEqual([200, 200]);
  });

  it("refuses a removed member's token and keys on every gateway at once", async () => {
    const member = await org.member("developer");
    expect([...(await statuses(member.token)), ...(await statuses(member.apiKey))]).toEqual([200, 200, 200, 200]);

    const removed = await graphql(second.url, org.ownerKey, "mutation($u: ID!) { removeMember(userId: $u) }", {
      u: member.userId,
    });
    expect(removed.body.data?.removeMember).toBe(true);
    expect(await statuses(member.token)).toEqual([401, 401]);
    expect(await statuses(member.apiKey)).toEqual([401, 401]);
  });

  it("serves a changed role on every gateway at once, by token and by key", async () => {
    const member = await org.member("viewer");
    expect(await roles(member.token)).toEqual(["viewer", "viewer"]);
    expect(await roles(member.apiKey)).toEqual(["viewer", "viewer"]);

    const changed = await graphql(
      stack.url,
      org.ownerKey,
      "mutation($u: ID!) { updateMemberRole(userId: $u, role: admin) { role } }",
      { u: member.userId },
    );
    expect(changed.body.data?.updateMemberRole?.role).toBe("admin");
    expect(await roles(member.token)).toEqual(["admin", "admin"]);
    // The key keeps its own scopes (a viewer's), but its role is the member's new one.
    expect(await roles(member.apiKey)).toEqual(["admin", "admin"]);

    await graphql(
      second.url,
      org.ownerKey,
      "mutation($u: ID!) { updateMemberRole(userId: $u, role: viewer) { role } }",
      {
        u: member.userId,
      },
    );
    expect(await roles(member.token)).toEqual(["viewer", "viewer"]);
  });

  it("refuses a key revoked behind the API's back within the cache's TTL", async () => {
    const member = await org.member("developer");
    expect(await statuses(member.apiKey)).toEqual([200, 200]);
    const revokedAt = Date.now();
    await stack.db.apiKey.update({ where: { id: await keyIdOf(member.userId) }, data: { revokedAt: new Date() } });
    // Nothing announced it: the caches still serve the key...
    expect(await statuses(member.apiKey)).toEqual([200, 200]);
    // ...until their entries expire.
    await waitFor("both gateways to refuse the key", async () =>
      (await statuses(member.apiKey)).every((s) => s === 401),
    );
    // Polling adds up to one round of requests to the bound.
    expect(Date.now() - revokedAt).toBeLessThan(TTL_SECONDS * 1000 + 2_000);
  });

  it("never serves a cached key past its expiry", async () => {
    const expiresAt = new Date(Date.now() + 1_500);
    const created = (
      await request(stack.url, "POST", "/auth/api-keys", {
        auth: org.ownerKey,
        body: { name: "brief", expiresAt: expiresAt.toISOString() },
      })
    ).body;
    expect(await statuses(created.key)).toEqual([200, 200]);
    const refusedAt = await waitFor("the key to expire", async () =>
      (await statuses(created.key)).every((s) => s === 401) ? Date.now() : undefined,
    );
    expect(refusedAt).toBeGreaterThanOrEqual(expiresAt.getTime());
    expect(refusedAt).toBeLessThan(expiresAt.getTime() + TTL_SECONDS * 1000);
  });

  // The last two of this block: the two gateways then distrust their caches until they catch up.
  it("does not take another deployment's invalidation (another Redis database, same server) for its own", async () => {
    const member = await org.member("developer");
    expect(await statuses(member.apiKey)).toEqual([200, 200]);
    // Pub/sub channels are server-wide. A deployment on another database of this Redis server
    // announces an invalidation whose epoch happens to be the next one of ours.
    const epoch = Number((await stack.redis.get(AUTH_EPOCH_KEY)) ?? 0);
    const otherDb = ((stack.redis.options.db ?? 0) + 1) % 16;
    const foreign = new Redis({ ...stack.redis.options, db: otherDb, lazyConnect: true });
    const foreignChannel = redisChannel(foreign, AUTH_INVALIDATION_CHANNEL);
    expect(foreignChannel).not.toBe(redisChannel(stack.redis, AUTH_INVALIDATION_CHANNEL));
    const listener = stack.redis.duplicate();
    try {
      const heard = new Promise<void>((resolve) => listener.once("message", () => resolve()));
      await listener.subscribe(foreignChannel);
      await stack.redis.publish(foreignChannel, JSON.stringify({ epoch: epoch + 1, organizationId: randomUUID() }));
      await heard;
      await sleep(200);
    } finally {
      listener.disconnect();
    }
    // Our own revocation, whose announcement is still in flight: only our counter moved. Had
    // the gateways applied the foreign epoch, they would think themselves current and serve the key.
    await stack.db.apiKey.update({ where: { id: await keyIdOf(member.userId) }, data: { revokedAt: new Date() } });
    await stack.redis.incr(AUTH_EPOCH_KEY);
    expect(await statuses(member.apiKey)).toEqual([401, 401]);
  });

  it("refuses at once on every gateway when the invalidation message is lost, because the epoch moved", async () => {
    const member = await org.member("developer");
    expect(await statuses(member.apiKey)).toEqual([200, 200]);
    // A revocation whose announcement never reached the channel: only the epoch counter moved.
    await stack.db.apiKey.update({ where: { id: await keyIdOf(member.userId) }, data: { revokedAt: new Date() } });
    await stack.redis.incr(AUTH_EPOCH_KEY);
    expect(await statuses(member.apiKey)).toEqual([401, 401]);
  });
});

describe("lastUsedAt", () => {
  it("is written in batches, not per request, and when the gateway stops", async () => {
    const batching = await startGateway(stack, { API_KEY_LAST_USED_FLUSH_SECONDS: "3600" });
    const member = await org.member("viewer");
    const id = await keyIdOf(member.userId);
    let last = 0;
    try {
      for (let i = 0; i < 5; i++) {
        expect((await request(batching.url, "GET", "/auth/me", { auth: member.apiKey })).status).toBe(200);
        last = Date.now();
      }
      // Five requests, no write: the batch waits for its interval.
      expect((await stack.db.apiKey.findUniqueOrThrow({ where: { id } })).lastUsedAt).toBeNull();
    } finally {
      await batching.app.close();
    }
    const written = (await stack.db.apiKey.findUniqueOrThrow({ where: { id } })).lastUsedAt;
    expect(written?.getTime()).toBeGreaterThanOrEqual(last - 1_000);
    expect(written?.getTime()).toBeLessThanOrEqual(Date.now());
  });
});
