import { credentialOrigin, type PrismaClient, type SecretStore } from "@sprintconnect/core";

/**
 * Stored credentials that must not be used: the secret is missing, or the server's URL is no
 * longer at the origin the credential was stored for. A job that meets this fails and says why
 * instead of connecting without authentication or sending a secret to another host.
 */
export class UnusableCredentialsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnusableCredentialsError";
  }
}

/**
 * The headers that carry a server's credentials, read from the secret store: a bearer token
 * becomes `Authorization: Bearer …`, custom headers are sent as they are. No credential row: no
 * headers. A row whose secret is missing, or whose origin is not the origin of `server.baseUrl`,
 * throws `UnusableCredentialsError` (the registry drops credentials when the origin changes;
 * this is the second line of defence for a row that was changed behind its back).
 */
export async function credentialHeaders(
  db: PrismaClient,
  secrets: SecretStore,
  server: { id: string; baseUrl: string },
): Promise<Record<string, string>> {
  const credential = await db.mcpCredential.findFirst({
    where: { serverId: server.id },
    orderBy: { updatedAt: "desc" },
  });
  if (!credential) return {};
  const target = credentialOrigin(server.baseUrl);
  if (credential.origin !== target) {
    throw new UnusableCredentialsError(
      `The stored credentials belong to ${credential.origin}, not to ${target}; give the server new credentials`,
    );
  }
  const value = await secrets.get(credential.secretRef);
  if (value === null) {
    throw new UnusableCredentialsError("The server's stored credentials are missing their secret; store them again");
  }
  if (credential.kind === "bearer") return { authorization: `Bearer ${value}` };
  const headers = JSON.parse(value) as Record<string, string>;
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), String(v)]));
}
