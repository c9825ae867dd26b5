import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import {
  cliEnvSchema,
  LocalSecretStore,
  parseEnv,
  resolveKeys,
  serverCredentialRef,
  VaultSecretStore,
  webhookSecretRef,
} from "@sprintconnect/core";
import { Webhook } from "standardwebhooks";
import { run as secretsMigrate } from "../packages/cli/src/commands/secrets-migrate";
import { type FixtureHandle, startFixture } from "./fixtures/mcp";
import { startVaultFixture, type VaultFixture } from "./fixtures/vault/kv-server";
import { TEST_DATABASE_URL, withEnv } from "./support/env";
import { request } from "./support/http";
import { withFailingAudit } from "./support/own-services";
import { createTestOrg, type Stack, startStack, type TestOrg } from "./support/stack";
import { waitFor } from "./support/wait";

const TOKEN = `hvs.${randomBytes(12).toString("hex")}`;
const NAMESPACE = "team-a";

let vault: VaultFixture;
let stack: Stack;
let org: TestOrg;
const fixtures: FixtureHandle[] = [];

beforeAll(async () => {
  vault = await startVaultFixture({ token: TOKEN, namespace: NAMESPACE });
  stack = await startStack(
    { SECRET_STORE: "vault", VAULT_ADDR: vault.addr, VAULT_TOKEN: TOKEN, VAULT_NAMESPACE: NAMESPACE },
    { worker: true },
  );
  org = await createTestOrg(stack, "Vault");
});
afterAll(async () => {
  await stack.close();
  await Promise.all(fixtures.map((f) => f.close()));
  await vault.close();
});

async function register(body: Record<string, unknown>) {
  return request(stack.url, "POST", "/v1/mcp/servers", { auth: org.ownerKey, body });
}

async function settled(serverId: string): Promise<any> {
  return waitFor(`discovery of ${serverId}`, async () => {
    const res = await request(stack.url, "GET", `/v1/mcp/servers/${serverId}`, { auth: org.ownerKey });
    return ["succeeded", "failed"].includes(res.body.discovery.status) ? res.body : undefined;
  });
}

describe("the Vault secret store (SECRET_STORE=vault)", () => {
  it("stores a registered server's credentials in Vault at secret/sprintconnect/mcp-servers/{id}/credentials, and the worker's discovery uses them", async () => {
    const auth = await startFixture("auth", { token: "vault-held-token" });
    fixtures.push(auth);
    const res = await register({
      name: "in-vault",
      baseUrl: auth.url,
      credentials: { bearerToken: "vault-held-token" },
    });
    expect(res.status).toBe(201);
    const id = res.body.id as string;
    expect(serverCredentialRef(id)).toBe(`secret/sprintconnect/mcp-servers/${id}/credentials`);
    expect(vault.values().get(serverCredentialRef(id))).toBe("vault-held-token");
    // Nothing of it in PostgreSQL: the row names the secret, Vault holds it.
    expect(await stack.db.secretValue.count({ where: { ref: serverCredentialRef(id) } })).toBe(0);
    expect(await stack.db.mcpCredential.findFirst({ where: { serverId: id } })).toMatchObject({
      secretRef: serverCredentialRef(id),
    });

    // The fixture refuses a discovery without the token: success means the worker read it from Vault.
    expect((await settled(id)).discovery.status).toBe("succeeded");
    expect(vault.requests.some((r) => r.method === "GET" && r.path.includes(`/mcp-servers/${id}/`))).toBe(true);
  });

  it("sends X-Vault-Token and X-Vault-Namespace on every call, on KV v2's data and metadata paths", async () => {
    const res = await register({
      name: "headers-and-paths",
      baseUrl: "http://vault-paths.example.com/mcp",
      credentials: { headers: { "X-Api-Key": "k1" } },
    });
    expect(res.status).toBe(201);
    const id = res.body.id as string;
    const removed = await request(stack.url, "PATCH", `/v1/mcp/servers/${id}`, {
      auth: org.ownerKey,
      body: { credentials: null },
    });
    expect(removed.status).toBe(200);
    const mine = vault.requests.filter((r) => r.path.includes(id));
    expect(mine.map((r) => `${r.method} ${r.path}`)).toEqual(
      expect.arrayContaining([
        `POST /v1/secret/data/sprintconnect/mcp-servers/${id}/credentials`,
        `DELETE /v1/secret/metadata/sprintconnect/mcp-servers/${id}/credentials`,
      ]),
    );
    expect(vault.requests.length).toBeGreaterThan(0);
    for (const r of vault.requests) {
      expect(r.headers["x-vault-token"]).toBe(TOKEN);
      expect(r.headers["x-vault-namespace"]).toBe(NAMESPACE);
    }
    // Removal happens after the commit: the secret is gone with its row.
    expect(vault.values().has(serverCredentialRef(id))).toBe(false);
    expect(await stack.db.mcpCredential.count({ where: { serverId: id } })).toBe(0);
  });

  it("answers 503 SERVICE_UNAVAILABLE when Vault is down, stores nothing half-way and never shows the token", async () => {
    const existing = await register({
      name: "before-outage",
      baseUrl: "http://outage.example.com/mcp",
      credentials: { bearerToken: "old-secret" },
    });
    const id = existing.body.id as string;
    const credentialBefore = await stack.db.mcpCredential.findFirstOrThrow({ where: { serverId: id } });
    vault.setSealed(true);
    try {
      const created = await register({
        name: "during-outage",
        baseUrl: "http://outage.example.com/mcp2",
        credentials: { bearerToken: "never-stored" },
      });
      expect(created.status).toBe(503);
      expect(created.body.error).toMatchObject({ code: "SERVICE_UNAVAILABLE", details: { dependency: "vault" } });
      expect(JSON.stringify(created.body)).not.toContain(TOKEN);
      expect(
        await stack.db.mcpServer.count({ where: { organizationId: org.organizationId, name: "during-outage" } }),
      ).toBe(0);

      const changed = await request(stack.url, "PATCH", `/v1/mcp/servers/${id}`, {
        auth: org.ownerKey,
        body: { credentials: { headers: { "X-Other": "never-stored" } } },
      });
      expect(changed.status).toBe(503);
      expect(JSON.stringify(changed.body)).not.toContain(TOKEN);
    } finally {
      vault.setSealed(false);
    }
    // The old credential row and its secret are as they were.
    expect(await stack.db.mcpCredential.findFirstOrThrow({ where: { serverId: id } })).toEqual(credentialBefore);
    expect(vault.values().get(serverCredentialRef(id))).toBe("old-secret");
    expect([...vault.values().values()]).not.toContain("never-stored");
  });

  it("fails a discovery loudly, naming Vault, when the worker cannot read the secret", async () => {
    const auth = await startFixture("auth", { token: "unreadable" });
    fixtures.push(auth);
    const created = await register({
      name: "unreadable",
      baseUrl: auth.url,
      credentials: { bearerToken: "unreadable" },
    });
    const id = created.body.id as string;
    expect((await settled(id)).discovery.status).toBe("succeeded");
    const requestsBefore = auth.requests;
    vault.setSealed(true);
    try {
      const res = await request(stack.url, "POST", `/v1/mcp/servers/${id}/discover`, { auth: org.ownerKey });
      expect(res.status).toBe(202);
      const run = await waitFor("the failed run", async () => {
        const r = await stack.db.discoveryRun.findUnique({ where: { id: res.body.jobId } });
        return r?.status === "failed" || r?.status === "succeeded" ? r : undefined;
      });
      expect(run.status).toBe("failed");
      expect(run.error).toMatch(/Vault/);
      expect(run.error).not.toContain(TOKEN);
    } finally {
      vault.setSealed(false);
    }
    // It never connected without the credential.
    expect(auth.requests).toBe(requestsBefore);
  });

  it("undoes its Vault writes when the database transaction rolls back: a new secret is removed, a replaced one restored", async () => {
    const kept = await register({
      name: "rollback-kept",
      baseUrl: "http://rollback-vault.example.com/mcp",
      credentials: { bearerToken: "first-value" },
    });
    const id = kept.body.id as string;
    const refsBefore = new Set(vault.values().keys());
    await withFailingAudit(org.organizationId, async () => {
      const replaced = await request(stack.url, "PATCH", `/v1/mcp/servers/${id}`, {
        auth: org.ownerKey,
        body: { credentials: { bearerToken: "rolled-back-value" } },
      });
      expect(replaced.status).toBe(500);
      const fresh = await register({
        name: "rollback-new",
        baseUrl: "http://rollback-vault.example.com/mcp2",
        credentials: { bearerToken: "rolled-back-new" },
      });
      expect(fresh.status).toBe(500);
    });
    expect(vault.writesTo(serverCredentialRef(id))).toBe(3); // written, replaced, restored
    expect(vault.values().get(serverCredentialRef(id))).toBe("first-value");
    expect(new Set(vault.values().keys())).toEqual(refsBefore);
    expect([...vault.values().values()]).not.toContain("rolled-back-new");
  });
});

describe("`secrets migrate --to vault`", () => {
  /** Runs the command in process against the test database and the fixture; its stdout lines. */
  async function migrate(args: string[]): Promise<{ code: number; stdout: string }> {
    const lines: string[] = [];
    const write = jest.spyOn(process.stdout, "write").mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
    try {
      const code = await withEnv(
        { DATABASE_URL: TEST_DATABASE_URL, VAULT_ADDR: vault.addr, VAULT_TOKEN: TOKEN, VAULT_NAMESPACE: NAMESPACE },
        () => secretsMigrate(["--to", "vault", ...args]),
      );
      return { code, stdout: lines.join("") };
    } finally {
      write.mockRestore();
    }
  }

  it("copies the local store's secrets to Vault, is safe to run again, reports counts and never prints a secret", async () => {
    // The local store with the key the CLI resolves (the development key file, as the stack's).
    const key = resolveKeys(parseEnv(cliEnvSchema, { DATABASE_URL: TEST_DATABASE_URL })).secretStoreKey;
    const local = new LocalSecretStore(stack.db, key);
    // One random id prefix for this test's secrets: `--prefix` keeps the deleting run to them
    // (other test files keep secrets in the same database meanwhile).
    const idPrefix = randomBytes(4).toString("hex");
    const mine = [1, 2, 3].map((i) => ({
      ref: serverCredentialRef(`${idPrefix}-0000-4000-8000-00000000000${i}`),
      value: `local-secret-${i}-${randomBytes(4).toString("hex")}`,
    }));
    for (const s of mine) await local.put(s.ref, s.value);
    try {
      const first = await migrate(["--json"]);
      const result = JSON.parse(first.stdout);
      expect(result.failed.map((f: { ref: string }) => f.ref)).not.toEqual(
        expect.arrayContaining(mine.map((s) => s.ref)),
      );
      expect(result.copied).toBeGreaterThanOrEqual(3);
      for (const s of mine) {
        expect(vault.values().get(s.ref)).toBe(s.value);
        expect(vault.writesTo(s.ref)).toBe(1);
        expect(first.stdout).not.toContain(s.value);
      }

      // Again: nothing of ours is written twice; it is counted as already there.
      const second = await migrate([]);
      expect(second.stdout).toMatch(/\d+ copied, \d+ already there/);
      const unchanged = Number(/(\d+) already there/.exec(second.stdout)?.[1]);
      expect(unchanged).toBeGreaterThanOrEqual(3);
      for (const s of mine) {
        expect(vault.writesTo(s.ref)).toBe(1);
        expect(second.stdout).not.toContain(s.value);
      }
      expect(second.stdout).not.toContain(TOKEN);

      // With --delete-local: the local copies go once Vault holds them; Vault keeps them.
      const third = await migrate([
        "--prefix",
        `secret/sprintconnect/mcp-servers/${idPrefix}`,
        "--delete-local",
        "--json",
      ]);
      expect(JSON.parse(third.stdout)).toEqual({ copied: 0, unchanged: 3, deletedLocal: 3, failed: [] });
      for (const s of mine) {
        expect(await local.get(s.ref)).toBeNull();
        expect(vault.values().get(s.ref)).toBe(s.value);
        expect(vault.writesTo(s.ref)).toBe(1);
      }
    } finally {
      for (const s of mine) await local.delete(s.ref);
    }
  });

  it("stops with a clear error, not a partial success, when Vault refuses it", async () => {
    const key = resolveKeys(parseEnv(cliEnvSchema, { DATABASE_URL: TEST_DATABASE_URL })).secretStoreKey;
    const local = new LocalSecretStore(stack.db, key);
    const ref = serverCredentialRef(`00000000-0000-4000-8000-${randomBytes(6).toString("hex")}`);
    await local.put(ref, "refused-value");
    vault.setSealed(true);
    try {
      await expect(migrate([])).rejects.toMatchObject({ extensions: { code: "SERVICE_UNAVAILABLE" } });
    } finally {
      vault.setSealed(false);
      await local.delete(ref);
    }
    expect(vault.values().has(ref)).toBe(false);
  });
});

describe("the Vault client", () => {
  it("treats a wrong token as SERVICE_UNAVAILABLE without echoing it", async () => {
    const wrong = `hvs.wrong-${randomBytes(6).toString("hex")}`;
    const store = new VaultSecretStore({ addr: vault.addr, token: wrong, namespace: NAMESPACE });
    const err = await store.get("secret/sprintconnect/anything").catch((e: unknown) => e as Error);
    expect(err).toMatchObject({ extensions: { code: "SERVICE_UNAVAILABLE" } });
    expect((err as Error).message).toMatch(/HTTP 403/);
    expect(JSON.stringify(err)).not.toContain(wrong);
  });
});

describe("webhook signing secrets with SECRET_STORE=vault", () => {
  it("are written to Vault by the admin subgraph and read from it by the worker that signs", async () => {
    const received: Array<{ headers: Record<string, string>; body: string }> = [];
    const receiver = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk) => {
        body += chunk;
      });
      req.on("end", () => {
        received.push({ headers: req.headers as Record<string, string>, body });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    try {
      const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
      const created = await request(stack.url, "POST", "/v1/webhooks", {
        auth: org.ownerKey,
        body: { url, eventTypes: ["server.registered"] },
      });
      expect(created.status).toBe(201);
      const id = created.body.webhook.id as string;
      expect(vault.values().get(webhookSecretRef(id))).toBe(created.body.secret);
      expect(await stack.db.secretValue.count({ where: { ref: webhookSecretRef(id) } })).toBe(0);

      expect((await request(stack.url, "POST", `/v1/webhooks/${id}/test`, { auth: org.ownerKey })).status).toBe(202);
      const delivery = await waitFor("the test delivery", async () => received[0]);
      // Verifies with the secret shown at creation: the worker signed with what Vault holds.
      expect(new Webhook(created.body.secret).verify(delivery.body, delivery.headers)).toMatchObject({
        type: "webhook.test",
      });
    } finally {
      receiver.close();
    }
  });
});
