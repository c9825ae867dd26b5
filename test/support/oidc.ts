import { type ChildProcess, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { resolve } from "node:path";
import { createInterface } from "node:readline";

/** A real OpenID Connect provider (oidc-provider) in a child process on loopback. */
export interface TestProvider {
  issuer: string;
  discoveryUrl: string;
  clientId: string;
  clientSecret: string;
  stop(): Promise<void>;
}

export interface ProviderSettings {
  redirectUris: string[];
  /** Host the issuer names instead of 127.0.0.1 (its discovery document then names another issuer). */
  issuerHost?: string;
  /** Shifts the provider's clock: -3600 makes every ID token it signs an hour old. */
  clockOffsetSeconds?: number;
}

const FIXTURE = resolve(__dirname, "../fixtures/oidc/provider.mjs");

export async function startProvider(settings: ProviderSettings): Promise<TestProvider> {
  const clientId = "sprintconnect";
  const clientSecret = randomBytes(24).toString("base64url");
  const child: ChildProcess = spawn(
    process.execPath,
    [FIXTURE, JSON.stringify({ ...settings, clientId, clientSecret })],
    {
      stdio: ["ignore", "pipe", "ignore"],
    },
  );
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const first = await new Promise<string>((resolveLine, reject) => {
    lines.once("line", resolveLine);
    child.once("exit", (code) => reject(new Error(`the OIDC provider exited (${code}) before listening`)));
  });
  const { issuer, port } = JSON.parse(first) as { issuer: string; port: number };
  return {
    issuer,
    discoveryUrl: `http://127.0.0.1:${port}/.well-known/openid-configuration`,
    clientId,
    clientSecret,
    stop: () =>
      new Promise<void>((done) => {
        if (child.exitCode !== null) return done();
        child.once("exit", () => done());
        child.kill("SIGTERM");
      }),
  };
}

/** What a client keeps between sending the person to the provider and exchanging the code. */
export interface AuthorizationRequest {
  codeVerifier: string;
  nonce: string;
  redirectUri: string;
}

/** Who logs in: the provider's subject, their email and whether the provider verified it. */
export interface TestPerson {
  subject: string;
  email: string;
  emailVerified?: boolean;
}

/**
 * The browser's part of the authorization code flow with PKCE: sends the authorization request,
 * follows the provider's redirects (login and consent complete themselves, see the fixture)
 * with its cookies, and returns the code from the final redirect to `redirectUri`.
 */
export async function authorize(
  provider: TestProvider,
  person: TestPerson,
  redirectUri: string,
): Promise<AuthorizationRequest & { code: string; iss: string | null }> {
  const codeVerifier = randomBytes(32).toString("base64url");
  const nonce = randomBytes(16).toString("base64url");
  const url = new URL(`${new URL(provider.discoveryUrl).origin}/auth`);
  url.search = new URLSearchParams({
    client_id: provider.clientId,
    response_type: "code",
    scope: "openid email profile",
    redirect_uri: redirectUri,
    code_challenge: createHash("sha256").update(codeVerifier).digest("base64url"),
    code_challenge_method: "S256",
    nonce,
    state: randomBytes(8).toString("hex"),
    login_hint: `${person.subject}|${person.email}|${person.emailVerified ?? true}`,
  }).toString();
  const cookies = new Map<string, string>();
  let next = url.href;
  for (let hop = 0; hop < 12; hop++) {
    const res = await fetch(next, {
      redirect: "manual",
      headers: { cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join("; ") },
    });
    for (const header of res.headers.getSetCookie()) {
      const [pair] = header.split(";");
      const at = pair?.indexOf("=") ?? -1;
      if (pair && at > 0) cookies.set(pair.slice(0, at), pair.slice(at + 1));
    }
    const location = res.headers.get("location");
    await res.arrayBuffer();
    if (!location) throw new Error(`the provider answered ${res.status} without a redirect at ${next}`);
    const target = new URL(location, next);
    // A provider whose issuer names another host still listens on 127.0.0.1 only.
    if (target.hostname === "localhost") target.hostname = "127.0.0.1";
    if (target.href.startsWith(redirectUri)) {
      const code = target.searchParams.get("code");
      if (!code) throw new Error(`the provider redirected back without a code: ${target.search}`);
      return { code, iss: target.searchParams.get("iss"), codeVerifier, nonce, redirectUri };
    }
    next = target.href;
  }
  throw new Error("too many redirects");
}
