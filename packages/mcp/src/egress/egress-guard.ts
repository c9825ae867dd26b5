import { lookup } from "node:dns/promises";
import type { LookupFunction } from "node:net";
import { AppError, type Logger } from "@sprintconnect/core";
import { Agent, type RequestInit as UndiciRequestInit, fetch as undiciFetch } from "undici";
import { egressDenied, withoutCredentials } from "./egress-denied";
import type { EgressPolicy } from "./egress-policy";
import { type ClassifiedAddress, classifyAddress, parseIpLiteral, RANGE_LABELS } from "./ip-address";
import { meteredBody, perEventBytesMeter, totalBytesMeter } from "./response-limit";

/** Resolves a host name to its addresses (IPv4 and IPv6, as text). */
export type EgressResolver = (host: string) => Promise<string[]>;

export interface EgressGuardOptions {
  /** Name resolution. Default: the system resolver, `dns.promises.lookup(host, { all: true })`. */
  resolve?: EgressResolver;
  /**
   * Time limit of one `fetch`, in milliseconds, from the first check to the end of the body,
   * across redirects. For `text/event-stream` responses it ends when the headers arrive: the
   * stream lives as long as the caller's `signal` allows. Default 30 000.
   */
  timeoutMs?: number;
  /**
   * Largest response body, in bytes, after decompression. For `text/event-stream` responses
   * the limit applies to each event instead. Default 10 MiB.
   */
  maxResponseBytes?: number;
  /** Redirects followed per `fetch`, each checked like the first URL. Default 5. */
  maxRedirects?: number;
  /**
   * Where refusals that must not reach the caller are told in full: the non-public address a
   * name resolved to, and its range. Default: not logged.
   */
  logger?: Pick<Logger, "warn">;
}

/** A URL that passed the guard, and the address a connection to it must use. */
export interface EgressTarget {
  url: URL;
  /** The resolved (or literal) address, checked; connections are pinned to it. */
  address: string;
  family: 4 | 6;
}

/** The fetch signature the MCP SDK accepts as its `fetch` option. */
export type EgressFetch = (url: string | URL, init?: RequestInit) => Promise<Response>;

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);
const REQUEST_BODY_HEADERS = ["content-encoding", "content-language", "content-location", "content-type"];
// The only headers a redirect that leaves the origin carries on: ones the transport sets, which
// a credential may not use as a name (server.rules.ts). The fetch standard drops Authorization,
// Cookie and Proxy-Authorization; custom credential headers (X-Api-Key, …) are secrets too, and
// nothing here can tell them from harmless ones, so every other header stays behind.
const CROSS_ORIGIN_HEADERS = new Set(["accept", "content-type", "mcp-protocol-version"]);
// Connection pools kept, one per pinned address; the least recently used closes beyond this.
const MAX_AGENTS = 64;

const systemResolver: EgressResolver = async (host) => (await lookup(host, { all: true })).map((a) => a.address);

/**
 * The one way out of the process: every outbound HTTP connection (MCP servers, webhooks,
 * OIDC, LLM providers) goes through `check` or `fetch`. Host names are resolved once and the
 * connection is pinned to the checked address, so DNS cannot change between the check and
 * the connection (DNS rebinding); each redirect is checked again.
 */
export class EgressGuard {
  private readonly resolve: EgressResolver;
  private readonly timeoutMs: number;
  private readonly maxResponseBytes: number;
  private readonly maxRedirects: number;
  private readonly agents = new Map<string, Agent>();
  private readonly logger: Pick<Logger, "warn"> | null;
  private closed = false;

  constructor(
    readonly policy: EgressPolicy,
    options: EgressGuardOptions = {},
  ) {
    this.resolve = options.resolve ?? systemResolver;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.maxResponseBytes = options.maxResponseBytes ?? 10 * 1024 * 1024;
    this.maxRedirects = options.maxRedirects ?? 5;
    this.logger = options.logger ?? null;
  }

  /**
   * Checks that `url` may be reached: http or https, no user name or password, a host the
   * policy admits, and every address the host resolves to admitted. Resolves the name once.
   * Throws `AppError(EGRESS_DENIED)` with `details.reason` otherwise.
   */
  async check(input: string | URL): Promise<EgressTarget> {
    const url = parseUrl(input);
    const host = url.hostname;
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw egressDenied(
        "scheme",
        `Egress to ${host || url.href} refused: scheme ${url.protocol} is not allowed, only http: and https:`,
        url,
      );
    }
    if (url.username || url.password) {
      throw egressDenied(
        "credentials",
        `Egress to ${host} refused: the URL carries a user name or password; send credentials in headers`,
        url,
      );
    }
    const literal = parseIpLiteral(host);
    return literal ? this.checkLiteral(url, classifyAddress(literal)) : this.checkName(url);
  }

  /**
   * `fetch` through the guard, with the `FetchLike` signature of the MCP SDK. Checks the URL,
   * connects to the pinned address (TLS and `Host` still use the name), follows redirects
   * checking each hop (unless `init.redirect` is `manual` or `error`), and applies the time
   * and size limits. Policy refusals and exceeded limits throw `AppError(EGRESS_DENIED)`; a
   * timeout throws a `TimeoutError` DOMException; network failures throw an `Error` naming
   * the origin, with the undici error as `cause`.
   */
  readonly fetch: EgressFetch = async (input, init = {}) => {
    if (this.closed) throw new Error("EgressGuard is closed");
    const timeout = new AbortController();
    const timer = setTimeout(
      () => timeout.abort(new DOMException(`Egress request timed out after ${this.timeoutMs} ms`, "TimeoutError")),
      this.timeoutMs,
    );
    // The timer must not keep the process alive; open sockets do that while they matter.
    timer.unref();
    const stopTimer = () => clearTimeout(timer);
    const signal = init.signal ? AbortSignal.any([init.signal, timeout.signal]) : timeout.signal;
    const redirectMode = init.redirect ?? "follow";
    let url: string | URL = input;
    let method = (init.method ?? "GET").toUpperCase();
    let body = init.body ?? null;
    const headers = new Headers(init.headers);
    let address: string | null = null;

    try {
      for (let redirects = 0; ; redirects++) {
        const target = await untilAborted(this.check(url), signal);
        address = target.address;
        const response = await undiciFetch(target.url, {
          method,
          headers: [...headers],
          body: body as UndiciRequestInit["body"],
          ...(isStream(body) ? { duplex: "half" as const } : {}),
          redirect: "manual",
          signal,
          dispatcher: this.agentFor(target),
        });
        const location = REDIRECT_STATUSES.has(response.status) ? response.headers.get("location") : null;
        if (location === null || redirectMode === "manual") {
          return await this.deliver(response, target, redirects > 0, stopTimer, signal);
        }
        await response.body?.cancel();
        const next = redirectTarget(location, target.url);
        if (redirectMode === "error") {
          throw new Error(
            `Redirect from ${target.url.origin} to ${withoutCredentials(next)} refused: redirect is "error"`,
          );
        }
        if (redirects >= this.maxRedirects) {
          throw egressDenied(
            "too_many_redirects",
            `Egress to ${target.url.hostname} refused: more than ${this.maxRedirects} redirects`,
            next,
          );
        }
        if (becomesGet(response.status, method)) {
          method = "GET";
          body = null;
          for (const name of REQUEST_BODY_HEADERS) headers.delete(name);
        } else if (isStream(body)) {
          throw new Error(
            `Redirect to ${withoutCredentials(next)} not followed: a streamed request body cannot be resent`,
          );
        }
        if (next.origin !== target.url.origin) {
          for (const name of [...headers.keys()]) if (!CROSS_ORIGIN_HEADERS.has(name)) headers.delete(name);
        }
        url = next;
      }
    } catch (error) {
      stopTimer();
      throw explainFailure(error, signal, url, address);
    }
  };

  /**
   * A `net` lookup function that admits a host name as `check` does and answers with the
   * checked address: for clients that make their own connections through a Node `http.Agent`
   * rather than a fetch (the S3 client of the outputs). Every new connection re-checks the
   * name, so DNS cannot move it to a refused address. Node does not call a lookup for an IP
   * literal: check such a URL once with `check` (its verdict cannot change).
   */
  readonly lookup: LookupFunction = (hostname, options, callback) => {
    const host = hostname.includes(":") ? `[${hostname}]` : hostname;
    this.check(`http://${host}/`).then(
      (target) => {
        if (options.all) callback(null, [{ address: target.address, family: target.family }]);
        else callback(null, target.address, target.family);
      },
      (error: unknown) => callback(error as NodeJS.ErrnoException, "", 0),
    );
  };

  /** Closes every connection and refuses further fetches. */
  async close(): Promise<void> {
    this.closed = true;
    const agents = [...this.agents.values()];
    this.agents.clear();
    await Promise.all(agents.map((agent) => agent.destroy()));
  }

  private checkLiteral(url: URL, address: ClassifiedAddress): EgressTarget {
    const verdict = this.policy.verdictFor(address);
    const host = url.hostname;
    if (!verdict.allowed) {
      throw egressDenied(
        "private_address",
        `Egress to ${host} refused: ${address.address} is a ${RANGE_LABELS[verdict.range]} address, ${notNamed(verdict.range)}`,
        url,
        { host, address: address.address, range: verdict.range },
      );
    }
    if (verdict.by === "public" && !this.policy.allowsAnyPublicHost) {
      throw egressDenied(
        "not_allowlisted",
        `Egress to ${host} refused: the address is not in ALLOWED_EGRESS_HOSTS`,
        url,
        {
          host,
        },
      );
    }
    return { url, address: address.address, family: address.family };
  }

  private async checkName(url: URL): Promise<EgressTarget> {
    const host = url.hostname;
    if (!this.policy.allowsHostName(host)) {
      throw egressDenied("not_allowlisted", `Egress to ${host} refused: the host is not in ALLOWED_EGRESS_HOSTS`, url, {
        host,
      });
    }
    let resolved: string[];
    try {
      resolved = await this.resolve(host);
    } catch (error) {
      this.logger?.warn(
        { host, code: (error as { code?: unknown }).code },
        "egress refused: the name does not resolve",
      );
      throw egressDenied("unresolvable", `Egress to ${host} refused: the name does not resolve`, url, { host });
    }
    if (resolved.length === 0) {
      throw egressDenied("unresolvable", `Egress to ${host} refused: the name resolves to no address`, url, { host });
    }
    const addresses = resolved.map((text) => {
      const ip = parseIpLiteral(text);
      if (!ip) {
        this.logger?.warn({ host, resolved: text }, "egress refused: the resolver returned something not an address");
        throw egressDenied("unresolvable", `Egress to ${host} refused: the name does not resolve to an address`, url, {
          host,
        });
      }
      return classifyAddress(ip);
    });
    // Every address must pass: a connection may be made to any of them, and an attacker who
    // controls the name's DNS would mix a public address with a private one. The caller learns
    // the rule, never the address nor its range: those would map internal names for anyone
    // allowed to register a URL. The log has them.
    for (const address of addresses) {
      const verdict = this.policy.verdictFor(address);
      if (!verdict.allowed) {
        this.logger?.warn(
          { host, address: address.address, range: verdict.range },
          "egress refused: the name resolves to a non-public address",
        );
        throw egressDenied(
          "private_address",
          `Egress to ${host} refused: the name resolves to a non-public address; only an IP or CIDR entry of ALLOWED_EGRESS_HOSTS naming that address admits it`,
          url,
          { host },
        );
      }
    }
    const pinned = addresses[0]!;
    return { url, address: pinned.address, family: pinned.family };
  }

  /** The connection pool whose connections all go to `target.address`, whatever the name. */
  private agentFor(target: EgressTarget): Agent {
    const key = target.address;
    let agent = this.agents.get(key);
    if (agent) {
      this.agents.delete(key); // re-inserted below: the map's order is least recently used first
    } else {
      agent = new Agent({ connect: { lookup: pinnedLookup(target.address, target.family) } });
    }
    this.agents.set(key, agent);
    if (this.agents.size > MAX_AGENTS) {
      const [oldestKey, oldest] = this.agents.entries().next().value as [string, Agent];
      this.agents.delete(oldestKey);
      // Graceful: requests in flight on it (an open event stream) finish first.
      oldest.close().catch(() => undefined);
    }
    return agent;
  }

  /** The response as the caller gets it: body metered, timer stopped when it is done. */
  private async deliver(
    response: Awaited<ReturnType<typeof undiciFetch>>,
    target: EgressTarget,
    redirected: boolean,
    stopTimer: () => void,
    signal: AbortSignal,
  ): Promise<Response> {
    const { url, address } = target;
    const tooLarge = (what: string) => () =>
      egressDenied(
        "response_too_large",
        `Egress to ${url.hostname} refused: ${what} is larger than ${this.maxResponseBytes} bytes`,
        url,
      );
    let body: ReadableStream<Uint8Array> | null = null;
    if (!response.body || NULL_BODY_STATUSES.has(response.status)) {
      stopTimer();
      await response.body?.cancel();
    } else if (isEventStream(response.headers.get("content-type"))) {
      // A long-lived stream: the timeout covered reaching it, the cap covers each event.
      stopTimer();
      const meter = perEventBytesMeter(this.maxResponseBytes, tooLarge("a server-sent event"));
      body = meteredBody(
        response.body,
        meter,
        () => undefined,
        (e) => explainFailure(e, signal, url, address),
      );
    } else {
      const declared = Number(response.headers.get("content-length") ?? Number.NaN);
      // Content-Length counts encoded bytes; the cap counts decoded ones, so only trust it unencoded.
      if (!response.headers.has("content-encoding") && declared > this.maxResponseBytes) {
        await response.body.cancel();
        throw tooLarge("the response body")();
      }
      const meter = totalBytesMeter(this.maxResponseBytes, tooLarge("the response body"));
      body = meteredBody(response.body, meter, stopTimer, (e) => explainFailure(e, signal, url, address));
    }
    const delivered = new Response(body, {
      status: response.status,
      statusText: response.statusText,
      headers: [...response.headers],
    });
    Object.defineProperties(delivered, { url: { value: url.href }, redirected: { value: redirected } });
    return delivered;
  }
}

function parseUrl(input: string | URL): URL {
  try {
    return new URL(typeof input === "string" ? input : input.href);
  } catch {
    throw egressDenied("invalid_url", "Egress refused: the URL is not valid", String(input));
  }
}

function redirectTarget(location: string, base: URL): URL {
  try {
    return new URL(location, base);
  } catch {
    throw new Error(`Redirect from ${base.origin} not followed: Location ${JSON.stringify(location)} is not a URL`);
  }
}

/** Whether a redirect turns the request into a GET without body (fetch standard, as browsers do). */
function becomesGet(status: number, method: string): boolean {
  return status === 303 ? method !== "GET" && method !== "HEAD" : status <= 302 && method === "POST";
}

function notNamed(range: string): string {
  return range === "metadata"
    ? "allowed only by an ALLOWED_EGRESS_HOSTS entry naming exactly this address"
    : "which no IP or CIDR entry of ALLOWED_EGRESS_HOSTS contains";
}

function pinnedLookup(address: string, family: 4 | 6): LookupFunction {
  return (_hostname, options, callback) => {
    if (options.all) callback(null, [{ address, family }]);
    else callback(null, address, family);
  };
}

function isStream(body: unknown): boolean {
  return body instanceof ReadableStream;
}

function isEventStream(contentType: string | null): boolean {
  return contentType?.split(";")[0]?.trim().toLowerCase() === "text/event-stream";
}

/** Waits for `promise`, or rejects with the abort reason as soon as `signal` aborts. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/**
 * Our own errors and aborts (timeout, the caller's signal) as they are; undici's opaque
 * "fetch failed" as an error that names the origin and the underlying cause. The cause names
 * the address connected to ("connect ECONNREFUSED 10.0.0.5:80"); when the URL gave a name, the
 * name replaces it, because this message is stored and shown (discovery error, health reason)
 * and the address a name resolves to is not the caller's to learn.
 */
function explainFailure(error: unknown, signal: AbortSignal, url: string | URL, address: string | null): unknown {
  if (error instanceof AppError) return error;
  if (signal.aborted) return signal.reason;
  if (!(error instanceof TypeError)) return error;
  // Duck-typed: the cause may come from another realm (node's net module under a test runner).
  const causeMessage = (error.cause as { message?: unknown } | undefined)?.message;
  let cause = typeof causeMessage === "string" && causeMessage !== "" ? causeMessage : error.message;
  let origin: string;
  try {
    const parsed = new URL(url);
    origin = parsed.origin;
    if (address && !parseIpLiteral(parsed.hostname)) cause = cause.replaceAll(address, parsed.hostname);
  } catch {
    origin = String(url);
  }
  return new Error(`Egress request to ${origin} failed: ${cause}`, { cause: error });
}
