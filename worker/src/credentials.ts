import type { PrismaClient, SecretStore } from "@sprintconnect/core";

/**
 * The headers that carry a server's credentials, read from the secret store: a bearer token
 * becomes `Authorization: Bearer …`, custom headers are sent as they are.
 */
export async function credentialHeaders(
  db: PrismaClient,
  secrets: SecretStore,
  serverId: string,
): Promise<Record<string, string>> {
  const credential = await db.mcpCredential.findFirst({ where: { serverId }, orderBy: { updatedAt: "desc" } });
  if (!credential) return {};
  const value = await secrets.get(credential.secretRef);
  if (value === null) return {};
  if (credential.kind === "bearer") return { authorization: `Bearer ${value}` };
  const headers = JSON.parse(value) as Record<string, string>;
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), String(v)]));
}
