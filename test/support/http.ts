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
  options: { auth?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
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
  const res = await fetch(`${baseUrl}${path}`, { method, headers, body });
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
