import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { InternalTokenSigner, Principal } from "@sprintconnect/core";
import { buildSchema, parse } from "graphql";
import { MessageType, stringifyMessage } from "graphql-ws";
import { useServer } from "graphql-ws/use/ws";
import { WebSocket, WebSocketServer } from "ws";
import { Member, nextFramePrefix, SocketWriter } from "./delivery";
import { SharedSubscriptions } from "./sharing";

/** A real server-side WebSocket, its raw TCP socket (as the gateway holds them), and a client. */
async function socketPair(): Promise<{ server: WebSocket; raw: Socket; client: WebSocket; close(): Promise<void> }> {
  const wss = new WebSocketServer({ noServer: true });
  // The raw socket stays in hand, as the gateway keeps it (the upgrade request's socket).
  const httpServer = createServer();
  const upgraded = new Promise<{ server: WebSocket; raw: Socket }>((resolve) => {
    httpServer.on("upgrade", (request, raw, head) => {
      wss.handleUpgrade(request, raw, head, (ws) => resolve({ server: ws, raw: raw as Socket }));
    });
  });
  httpServer.listen(0, "127.0.0.1");
  await once(httpServer, "listening");
  const client = new WebSocket(`ws://127.0.0.1:${(httpServer.address() as AddressInfo).port}`);
  const { server, raw } = await upgraded;
  await once(client, "open");
  return {
    server,
    raw,
    client,
    async close() {
      client.terminate();
      server.terminate();
      await new Promise((resolve) => httpServer.close(resolve));
    },
  };
}

describe("nextFramePrefix", () => {
  it("with the serialized payload and a closing brace is exactly graphql-ws's next message", () => {
    const payload = { data: { capabilityChanges: { eventId: "e1", name: 'quote " and \\ ü' } } };
    for (const id of ["1", 'id "with" quotes', "ü-ñ"]) {
      expect(`${nextFramePrefix(id)}${JSON.stringify(payload)}}`).toBe(
        stringifyMessage({ id, type: MessageType.Next, payload }),
      );
    }
  });
});

describe("Member and SocketWriter", () => {
  it("write each subscriber's frames, with its own id, in order, one WebSocket message each", async () => {
    const pair = await socketPair();
    try {
      const writer = new SocketWriter(pair.server, pair.raw);
      const a = new Member({ id: "a", writer }, () => undefined);
      const b = new Member({ id: "b", writer }, () => undefined);
      const received: string[] = [];
      pair.client.on("message", (data) => received.push(String(data)));
      // Two events in one tick (one corked write), then a third in the next.
      for (const n of [1, 2]) {
        const payload = JSON.stringify({ data: { n } });
        a.deliver(payload);
        b.deliver(payload);
      }
      await new Promise((resolve) => setImmediate(resolve));
      a.deliver(JSON.stringify({ data: { n: 3 } }));
      while (received.length < 5) await once(pair.client, "message");
      expect(received.map((m) => JSON.parse(m))).toEqual([
        { id: "a", type: "next", payload: { data: { n: 1 } } },
        { id: "b", type: "next", payload: { data: { n: 1 } } },
        { id: "a", type: "next", payload: { data: { n: 2 } } },
        { id: "b", type: "next", payload: { data: { n: 2 } } },
        { id: "a", type: "next", payload: { data: { n: 3 } } },
      ]);
    } finally {
      await pair.close();
    }
  });

  it("end a subscriber whose client stops reading with SERVICE_UNAVAILABLE once too much waits unsent, once", async () => {
    const pair = await socketPair();
    try {
      // The client reads nothing: what the gateway writes piles up in the kernel, then in the socket.
      (pair.client as unknown as { _socket: Socket })._socket.pause();
      const writer = new SocketWriter(pair.server, pair.raw, 64 * 1024);
      let ended = 0;
      const member = new Member({ id: "slow", writer }, () => ended++);
      const outcome = member.done.next();
      const payload = JSON.stringify({ data: { padding: "x".repeat(1_000) } });
      let delivered = 0;
      // Bounded: the kernel's buffers on loopback hold a few MB at most.
      while (!writer.congested && delivered < 100_000) {
        member.deliver(payload);
        delivered++;
        if (delivered % 100 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      expect(writer.congested).toBe(true);
      member.deliver(payload);
      member.deliver(payload);
      await expect(outcome).rejects.toMatchObject({ extensions: { code: "SERVICE_UNAVAILABLE" } });
      expect(ended).toBe(1);
    } finally {
      await pair.close();
    }
  });

  it("complete when the subscription ends", async () => {
    const pair = await socketPair();
    try {
      const writer = new SocketWriter(pair.server, pair.raw);
      let ended = 0;
      const member = new Member({ id: "done", writer }, () => ended++);
      const outcome = member.done.next();
      member.done.end();
      await expect(outcome).resolves.toEqual({ value: undefined, done: true });
      expect(ended).toBe(1);
    } finally {
      await pair.close();
    }
  });
});

/** A subgraph stand-in: graphql-ws over a tiny schema whose `feed` yields two results, then ends or fails. */
async function fakeSubgraph(): Promise<{ url: string; close(): Promise<void> }> {
  const schema = buildSchema(`
    type Query { ok: Boolean }
    type Feed { n: Int, label: String }
    type Subscription { feed(fail: Boolean): Feed }
  `);
  const httpServer = createServer();
  const wss = new WebSocketServer({ server: httpServer, path: "/graphql" });
  useServer(
    {
      schema,
      roots: {
        subscription: {
          feed: async function* ({ fail }: { fail?: boolean }) {
            // Both subscribers join in the same tick; the results come after.
            await new Promise((resolve) => setTimeout(resolve, 50));
            yield { feed: { n: 1, label: "one" } };
            yield { feed: { n: 2, label: "two" } };
            if (fail) throw new Error("the feed broke");
          },
        },
      },
    },
    wss,
  );
  httpServer.listen(0, "127.0.0.1");
  await once(httpServer, "listening");
  return {
    url: `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}/graphql`,
    async close() {
      for (const client of wss.clients) client.terminate();
      await new Promise((resolve) => wss.close(resolve));
      await new Promise((resolve) => httpServer.close(resolve));
    },
  };
}

describe("SharedSubscriptions' fan-out", () => {
  const principal: Principal = {
    organizationId: "00000000-0000-4000-8000-000000000001",
    userId: "00000000-0000-4000-8000-000000000002",
    apiKeyId: null,
    role: "viewer",
    scopes: ["servers:read"] as Principal["scopes"],
    authMethod: "api_key",
  };
  const signer = { sign: async () => "internal-token" } as unknown as InternalTokenSigner;
  const toErrors = (err: unknown) =>
    Array.isArray(err)
      ? err.map((e: { message: string }) => ({ message: e.message, extensions: { code: "SERVICE_UNAVAILABLE" } }))
      : [{ message: "unavailable", extensions: { code: "SERVICE_UNAVAILABLE" } }];

  async function run(fail: boolean) {
    const subgraph = await fakeSubgraph();
    const pair = await socketPair();
    const frames: unknown[] = [];
    pair.client.on("message", (data) => frames.push(JSON.parse(String(data))));
    try {
      const query = "subscription($fail: Boolean) { feed(fail: $fail) { n label } }";
      const routed = {
        subgraph: "registry",
        // A shared feed: both subscribers get one upstream subscription.
        field: "capabilityChanges",
        variables: { fail },
        payload: { query, variables: { fail } },
        document: parse(query),
      };
      const shared = new SharedSubscriptions({ registry: subgraph.url }, signer);
      const writer = new SocketWriter(pair.server, pair.raw);
      let ended = 0;
      const connection = { id: "request-1", ip: "127.0.0.1" };
      const a = shared.join(routed, principal, connection, { id: "a", writer }, toErrors, () => ended++);
      const b = shared.join(routed, principal, connection, { id: "b", writer }, toErrors, () => ended++);
      expect(shared.upstreams).toBe(1);
      // graphql-ws's view: nothing is yielded; the iterators settle when the upstream ends.
      await expect(Promise.all([a.next(), b.next()])).resolves.toEqual([
        { value: undefined, done: true },
        { value: undefined, done: true },
      ]);
      expect(ended).toBe(2);
      expect(shared.upstreams).toBe(0);
      const expected = fail ? 6 : 4;
      while (frames.length < expected) await once(pair.client, "message");
      return frames;
    } finally {
      await pair.close();
      await subgraph.close();
    }
  }

  it("writes every upstream result to each subscriber under its own id, then ends them when the upstream completes", async () => {
    expect(await run(false)).toEqual([
      { id: "a", type: "next", payload: { data: { feed: { n: 1, label: "one" } } } },
      { id: "b", type: "next", payload: { data: { feed: { n: 1, label: "one" } } } },
      { id: "a", type: "next", payload: { data: { feed: { n: 2, label: "two" } } } },
      { id: "b", type: "next", payload: { data: { feed: { n: 2, label: "two" } } } },
    ]);
  });

  it("gives each subscriber an upstream failure as one last result with errors, then ends them", async () => {
    const frames = await run(true);
    expect(frames.slice(4)).toEqual([
      {
        id: "a",
        type: "next",
        payload: { errors: [{ message: "the feed broke", extensions: { code: "SERVICE_UNAVAILABLE" } }] },
      },
      {
        id: "b",
        type: "next",
        payload: { errors: [{ message: "the feed broke", extensions: { code: "SERVICE_UNAVAILABLE" } }] },
      },
    ]);
  });
});
