import { graphql, request } from "./support/http";
import { createTestOrg, type Stack, startStack, type TestOrg } from "./support/stack";

let stack: Stack;
let org: TestOrg;

beforeAll(async () => {
  stack = await startStack();
  org = await createTestOrg(stack, "Chat");
});
afterAll(() => stack.close());

describe("chat sessions", () => {
  it("resolve their servers from the registry through federation, one batch per request", async () => {
    const ids: string[] = [];
    for (const name of ["a", "b", "c"]) {
      const res = await request(stack.url, "POST", "/v1/mcp/servers", {
        auth: org.ownerKey,
        body: { name: `chat-${name}`, baseUrl: `https://${name}.example.com/mcp` },
      });
      ids.push(res.body.id);
    }
    for (const serverIds of [[ids[0], ids[1]], [ids[1], ids[2]], [ids[2]]]) {
      const created = await request(stack.url, "POST", "/v1/chat/sessions", {
        auth: org.ownerKey,
        body: { serverIds },
      });
      expect(created.status).toBe(201);
    }
    await request(stack.url, "DELETE", `/v1/mcp/servers/${ids[2]}`, { auth: org.ownerKey });

    const res = await graphql(
      stack.url,
      org.ownerKey,
      "{ chatSessions(limit: 10) { items { serverIds servers { id name environment health { status } } } } }",
    );
    expect(res.body.errors).toBeUndefined();
    const sessions = res.body.data.chatSessions.items as Array<{
      serverIds: string[];
      servers: Array<{ id: string; name: string }>;
    }>;
    expect(sessions).toHaveLength(3);
    // Newest first; a deregistered server stays in serverIds but is no longer resolved.
    expect(sessions.map((s) => s.servers.map((x) => x.name))).toEqual([[], ["chat-b"], ["chat-a", "chat-b"]]);
    expect(sessions[0]?.serverIds).toEqual([ids[2]]);
  });
});
