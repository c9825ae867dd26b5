import { request as httpRequest } from "node:http";

/** A small HTTP client for tests: JSON in, status + JSON out, with a bearer credential. */
export interface Reply<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

export async function request<T = any>(
  baseUrl: string,
  method: string,
  path: string,
  options: {
    auth?: string;
    body?: unknown;
    rawBody?: string;
    headers?: Record<string, string>;
    /** Connect from this local address (any 127.x.y.z), to be another client IP. */
    from?: string;
  } = {},
): Promise<Reply<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.auth) headers.authorization = `Bearer ${options.auth}`;
  let body: string | undefined;
  if (options.rawBody !== undefined) {
    body = options.rawBody;
    headers["content-type"] ??= "application/json";
  } else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers["content-type"] = "application/json";
  }
  const res = options.from
    ? await fetchFrom(options.from, `${baseUrl}${path}`, { method, headers, body })
    : await fetch(`${baseUrl}${path}`, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, headers: res.headers, body: parsed as T };
}

/** POST /graphql. */
export async function graphql<T = any>(
  baseUrl: string,
  auth: string | undefined,
  query: string,
  variables?: Record<string, unknown>,
): Promise<Reply<{ data?: T; errors?: Array<{ message: string; extensions?: Record<string, any> }> }>> {
  return request(baseUrl, "POST", "/graphql", { auth, body: { query, variables } });
}

/** fetch's answer, over a connection from `localAddress` (fetch cannot choose it). */
function fetchFrom(
  localAddress: string,
  url: string,
  init: { method: string; headers: Record<string, string>; body: string | undefined },
): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: init.method, headers: init.headers, localAddress }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("error", reject);
      res.on("end", () => {
        const headers = new Headers();
        for (const [name, value] of Object.entries(res.headers)) {
          if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(", ") : value);
        }
        resolve(new Response(Buffer.concat(chunks), { status: res.statusCode ?? 0, headers }));
      });
    });
    req.on("error", reject);
    req.end(init.body);
  });
}

/** A loopback address no other test (nor an earlier run within the minute) connects from. */
export function freshLoopbackAddress(): string {
  const byte = () => 1 + Math.floor(Math.random() * 254);
  return `127.${byte()}.${byte()}.${byte()}`;
}
