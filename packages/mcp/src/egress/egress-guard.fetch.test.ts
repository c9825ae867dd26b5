import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";
import { AppError, ErrorCode } from "@sprintconnect/core";
import { EgressGuard, type EgressGuardOptions } from "./egress-guard";
import { parseEgressPolicy } from "./egress-policy";

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

interface TestServer {
  port: number;
  /** `http://127.0.0.1:PORT` (or `http://[::1]:PORT`). */
  origin: string;
  requests: Seen[];
}

const servers: Array<{ close(): void; closeAllConnections(): void }> = [];
const guards: EgressGuard[] = [];

/** A tiny HTTP server on a loopback address; it records every request it receives. */
async function startServer(
  handle: (req: IncomingMessage, res: ServerResponse, seen: Seen) => void,
  host: "127.0.0.1" | "::1" = "127.0.0.1",
): Promise<TestServer> {
  const requests: Seen[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => {
      body += chunk.toString();
    });
    req.on("end", () => {
      const seen = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body };
      requests.push(seen);
      handle(req, res, seen);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return { port, origin: host === "::1" ? `http://[::1]:${port}` : `http://127.0.0.1:${port}`, requests };
}

function guardFor(entries: string[], options: EgressGuardOptions = {}): EgressGuard {
  const guard = new EgressGuard(parseEgressPolicy(entries), options);
  guards.push(guard);
  return guard;
}

function resolverOf(table: Record<string, string[]>) {
  const calls: string[] = [];
  const resolve = async (host: string) => {
    calls.push(host);
    const addresses = table[host];
    if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: "ENOTFOUND" });
    return addresses;
  };
  return { resolve, calls };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error("expected a rejection");
    },
    (e: unknown) => e,
  );
}

function expectDenied(error: unknown, reason: string): Record<string, unknown> {
  expect(error).toBeInstanceOf(AppError);
  expect((error as AppError).code).toBe(ErrorCode.EGRESS_DENIED);
  const details = (error as AppError).extensions.details as Record<string, unknown>;
  expect(details.reason).toBe(reason);
  return details;
}

const redirectTo =
  (location: string, status = 302) =>
  (_req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(status, { location }).end();
  };

const ok = (_req: IncomingMessage, res: ServerResponse, seen: Seen) => {
  res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ method: seen.method }));
};

afterEach(async () => {
  await Promise.all(guards.splice(0).map((g) => g.close()));
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    server.close();
  }
});

describe("egress guard fetch", () => {
  it("fetches from a loopback server the policy names", async () => {
    const server = await startServer(ok);
    const response = await guardFor(["127.0.0.1"]).fetch(`${server.origin}/hello`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ method: "GET" });
    expect(response.url).toBe(`${server.origin}/hello`);
    expect(response.redirected).toBe(false);
  });

  it("connects to the pinned address while the Host header carries the name", async () => {
    const server = await startServer(ok);
    const dns = resolverOf({ "pinned.test": ["127.0.0.1"] });
    const guard = guardFor(["pinned.test", "127.0.0.1"], { resolve: dns.resolve });
    // pinned.test exists in no real DNS: the request can only succeed through the pinned address.
    const response = await guard.fetch(`http://pinned.test:${server.port}/x`);
    expect(response.status).toBe(200);
    await response.text();
    expect(server.requests[0]?.headers.host).toBe(`pinned.test:${server.port}`);
    expect(dns.calls).toEqual(["pinned.test"]);
  });

  it("keeps using the checked address when the name later resolves elsewhere", async () => {
    const server = await startServer(ok);
    let answer = "127.0.0.1";
    const calls: string[] = [];
    const guard = guardFor(["rebind.test", "127.0.0.1"], {
      resolve: async (host) => {
        calls.push(host);
        const current = answer;
        answer = "10.0.0.5"; // the attacker's DNS flips after the first answer
        return [current];
      },
    });
    const response = await guard.fetch(`http://rebind.test:${server.port}/`);
    expect(response.status).toBe(200);
    await response.text();
    expect(calls).toHaveLength(1);
    expect(server.requests).toHaveLength(1);
    expectDenied(await rejection(guard.fetch(`http://rebind.test:${server.port}/`)), "private_address");
    expect(server.requests).toHaveLength(1);
  });

  it("resolves each redirect hop once and sends each hop its own Host", async () => {
    const target = await startServer(ok);
    const first = await startServer(redirectTo(`http://second.test:${target.port}/end`));
    const dns = resolverOf({ "first.test": ["127.0.0.1"], "second.test": ["127.0.0.1"] });
    const guard = guardFor(["first.test", "second.test", "127.0.0.1"], { resolve: dns.resolve });
    const response = await guard.fetch(`http://first.test:${first.port}/start`);
    expect(response.status).toBe(200);
    await response.text();
    expect(response.url).toBe(`http://second.test:${target.port}/end`);
    expect(response.redirected).toBe(true);
    expect(dns.calls).toEqual(["first.test", "second.test"]);
    expect(target.requests[0]?.headers.host).toBe(`second.test:${target.port}`);
  });

  it("refuses a redirect to the metadata address", async () => {
    const server = await startServer(redirectTo("http://169.254.169.254/latest/meta-data"));
    const error = await rejection(guardFor(["127.0.0.1"]).fetch(`${server.origin}/`));
    const details = expectDenied(error, "private_address");
    expect(details).toMatchObject({ url: "http://169.254.169.254/latest/meta-data", range: "metadata" });
  });

  it("refuses a redirect to a loopback address the policy does not name, without connecting", async () => {
    const other = await startServer(ok, "::1");
    const server = await startServer(redirectTo(`${other.origin}/secret`, 307));
    const error = await rejection(guardFor(["127.0.0.1"]).fetch(`${server.origin}/`));
    expect(expectDenied(error, "private_address")).toMatchObject({ address: "::1", range: "loopback" });
    expect(server.requests).toHaveLength(1);
    expect(other.requests).toHaveLength(0);
  });

  it("refuses a redirect to a host name the policy does not name, without resolving or connecting", async () => {
    const other = await startServer(ok);
    const server = await startServer(redirectTo(`http://evil.test:${other.port}/`));
    const dns = resolverOf({ "evil.test": ["127.0.0.1"] });
    const error = await rejection(guardFor(["127.0.0.1"], { resolve: dns.resolve }).fetch(`${server.origin}/`));
    expect(expectDenied(error, "not_allowlisted")).toMatchObject({ host: "evil.test" });
    expect(dns.calls).toEqual([]);
    expect(other.requests).toHaveLength(0);
  });

  it("refuses a redirect that puts credentials in the URL", async () => {
    const server = await startServer((_req, res) => {
      res.writeHead(302, { location: `http://admin:pw@127.0.0.1:${server.port}/` }).end();
    });
    expectDenied(await rejection(guardFor(["127.0.0.1"]).fetch(`${server.origin}/`)), "credentials");
  });

  it("follows at most maxRedirects redirects", async () => {
    const server = await startServer((req, res, seen) => {
      const n = Number(seen.url.slice(1));
      if (n < 3) res.writeHead(302, { location: `/${n + 1}` }).end();
      else ok(req, res, seen);
    });
    const three = await guardFor(["127.0.0.1"], { maxRedirects: 3 }).fetch(`${server.origin}/0`);
    expect(three.status).toBe(200);
    await three.text();
    const error = await rejection(guardFor(["127.0.0.1"], { maxRedirects: 2 }).fetch(`${server.origin}/0`));
    expectDenied(error, "too_many_redirects");
  });

  it("turns a POST into a GET without body on 303 and 302, as browsers do, and keeps it on 307", async () => {
    const target = await startServer(ok);
    const guard = guardFor(["127.0.0.1"]);
    for (const [status, method, body] of [
      [303, "GET", ""],
      [302, "GET", ""],
      [301, "GET", ""],
      [307, "POST", '{"a":1}'],
      [308, "POST", '{"a":1}'],
    ] as const) {
      const source = await startServer(redirectTo(`${target.origin}/after-${status}`, status));
      const response = await guard.fetch(`${source.origin}/`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: '{"a":1}',
      });
      expect(await response.json()).toEqual({ method });
      const seen = target.requests.at(-1);
      expect(seen).toMatchObject({ url: `/after-${status}`, method, body });
      expect(seen?.headers["content-type"]).toBe(method === "GET" ? undefined : "application/json");
    }
  });

  it("drops Authorization, Cookie and custom credential headers when a redirect leaves the origin, and keeps them within it", async () => {
    const other = await startServer(ok);
    const server = await startServer((_req, res, seen) => {
      if (seen.url === "/same") res.writeHead(307, { location: `${other.origin}/cross` }).end();
      else res.writeHead(307, { location: "/same" }).end();
    });
    const sent = {
      authorization: "Bearer secret",
      cookie: "s=1",
      "x-api-key": "custom-secret",
      "x-team": "climate",
      accept: "application/json, text/event-stream",
      "content-type": "application/json",
      "mcp-protocol-version": "2025-06-18",
    };
    const response = await guardFor(["127.0.0.1"]).fetch(`${server.origin}/start`, {
      method: "POST",
      body: "{}",
      headers: sent,
    });
    await response.text();
    // Another port is another origin (same loopback host).
    expect(other.origin).not.toBe(server.origin);
    expect(server.requests[1]?.headers).toMatchObject(sent);
    const crossed = other.requests[0]?.headers ?? {};
    for (const name of ["authorization", "cookie", "x-api-key", "x-team"]) expect(crossed[name]).toBeUndefined();
    expect(JSON.stringify(crossed)).not.toMatch(/secret|climate/);
    expect(crossed).toMatchObject({
      accept: sent.accept,
      "content-type": "application/json",
      "mcp-protocol-version": "2025-06-18",
    });
  });

  it("returns a redirect unfollowed when the caller asks for manual redirects, as the MCP SDK does", async () => {
    const other = await startServer(ok);
    const server = await startServer(redirectTo(`${other.origin}/next`));
    const response = await guardFor(["127.0.0.1"]).fetch(`${server.origin}/`, { redirect: "manual" });
    expect(response.status).toBe(302);
    expect(response.headers.get("location")).toBe(`${other.origin}/next`);
    expect(response.url).toBe(`${server.origin}/`);
    expect(other.requests).toHaveLength(0);
  });

  it("times out a server that does not answer", async () => {
    const server = await startServer(() => undefined);
    const started = Date.now();
    const error = await rejection(guardFor(["127.0.0.1"], { timeoutMs: 200 }).fetch(`${server.origin}/`));
    expect(error).toMatchObject({ name: "TimeoutError" });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("times out a body that stops arriving", async () => {
    const server = await startServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("partial");
    });
    const response = await guardFor(["127.0.0.1"], { timeoutMs: 300 }).fetch(`${server.origin}/`);
    expect(response.status).toBe(200);
    expect(await rejection(response.text())).toMatchObject({ name: "TimeoutError" });
  });

  it("stops when the caller's signal aborts", async () => {
    const server = await startServer(() => undefined);
    const controller = new AbortController();
    const pending = guardFor(["127.0.0.1"]).fetch(`${server.origin}/`, { signal: controller.signal });
    const reason = new Error("caller gave up");
    setTimeout(() => controller.abort(reason), 50);
    expect(await rejection(pending)).toBe(reason);
  });

  it("refuses a body whose Content-Length exceeds the cap before reading it", async () => {
    const server = await startServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/plain", "content-length": "2048" }).end("x".repeat(2048));
    });
    const error = await rejection(guardFor(["127.0.0.1"], { maxResponseBytes: 1024 }).fetch(`${server.origin}/`));
    expectDenied(error, "response_too_large");
  });

  it("cuts a streamed body at the cap and passes one at the cap", async () => {
    const server = await startServer((_req, res, seen) => {
      res.writeHead(200, { "content-type": "text/plain" });
      const size = Number(seen.url.slice(1));
      for (let sent = 0; sent < size; sent += 256) res.write("y".repeat(Math.min(256, size - sent)));
      res.end();
    });
    const guard = guardFor(["127.0.0.1"], { maxResponseBytes: 1024 });
    expect(await (await guard.fetch(`${server.origin}/1024`)).text()).toHaveLength(1024);
    const response = await guard.fetch(`${server.origin}/4096`);
    expectDenied(await rejection(response.text()), "response_too_large");
  });

  it("caps the decompressed size of a compressed body", async () => {
    const bomb = gzipSync(Buffer.alloc(1024 * 1024));
    const server = await startServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/octet-stream", "content-encoding": "gzip" }).end(bomb);
    });
    const response = await guardFor(["127.0.0.1"], { maxResponseBytes: 64 * 1024 }).fetch(`${server.origin}/`);
    expectDenied(await rejection(response.arrayBuffer()), "response_too_large");
  });

  it("lets an event stream outlive the timeout and exceed the cap in total, capping each event", async () => {
    const server = await startServer((_req, res, seen) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      const big = seen.url === "/big";
      let sent = 0;
      const timer = setInterval(() => {
        if (big)
          res.write(`data: ${"z".repeat(600)}\n`); // one event that never ends
        else res.write(`data: ${"e".repeat(200)}\r\n\r\n`);
        if (++sent === 10) {
          clearInterval(timer);
          res.end();
        }
      }, 30);
    });
    const guard = guardFor(["127.0.0.1"], { maxResponseBytes: 1024, timeoutMs: 100 });
    const stream = await guard.fetch(`${server.origin}/small`);
    const text = await stream.text(); // ~300 ms and ~2 KiB in total
    expect(text.split("\r\n\r\n").filter(Boolean)).toHaveLength(10);
    const big = await guard.fetch(`${server.origin}/big`);
    expectDenied(await rejection(big.text()), "response_too_large");
  });

  it("reports a refused connection with the origin and the cause", async () => {
    const server = await startServer(ok);
    const { port } = server;
    for (const s of servers.splice(0)) s.close();
    const error = await rejection(guardFor(["127.0.0.1"]).fetch(`http://127.0.0.1:${port}/`));
    expect(error).not.toBeInstanceOf(AppError);
    expect((error as Error).message).toMatch(`Egress request to http://127.0.0.1:${port} failed: connect ECONNREFUSED`);
  });

  it("names the host, not the address it resolved to, when a connection to a name fails", async () => {
    const server = await startServer(ok);
    const { port } = server;
    for (const s of servers.splice(0)) s.close();
    const { resolve } = resolverOf({ "internal.example.test": ["127.0.0.1"] });
    const error = await rejection(
      guardFor(["*", "127.0.0.1"], { resolve }).fetch(`http://internal.example.test:${port}/`),
    );
    expect((error as Error).message).toBe(
      `Egress request to http://internal.example.test:${port} failed: connect ECONNREFUSED internal.example.test:${port}`,
    );
  });

  it("refuses a scheme, credentials and a private address before connecting", async () => {
    const guard = guardFor(["*"]);
    expectDenied(await rejection(guard.fetch("file:///etc/passwd")), "scheme");
    expectDenied(await rejection(guard.fetch("http://u:p@93.184.216.34/")), "credentials");
    expectDenied(await rejection(guard.fetch("http://0x7f000001/")), "private_address");
  });

  it("refuses to fetch once closed", async () => {
    const guard = guardFor(["127.0.0.1"]);
    await guard.close();
    await expect(guard.fetch("http://127.0.0.1:1/")).rejects.toThrow("EgressGuard is closed");
  });
});
