import { createHmac, randomBytes } from "node:crypto";

/** API keys look like `sc_<id>_<secret>`; `sc_<id>` is the public prefix shown in lists. */
const KEY_PATTERN = /^sc_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{43})$/;

export function looksLikeApiKey(token: string): boolean {
  return token.startsWith("sc_");
}

/** A new key: the full value (shown once), its public prefix and the hash to store. */
export function generateApiKey(pepper: string): { key: string; prefix: string; hash: string } {
  const id = randomBytes(9).toString("base64url").replace(/[-_]/g, "0").slice(0, 12);
  const secret = randomBytes(32).toString("base64url");
  const key = `sc_${id}_${secret}`;
  return { key, prefix: `sc_${id}`, hash: hashApiKey(pepper, key) };
}

/** HMAC-SHA256 of the whole key under API_KEY_ENCRYPTION_KEY. */
export function hashApiKey(pepper: string, key: string): string {
  return createHmac("sha256", pepper).update(key).digest("hex");
}

export function isWellFormedApiKey(key: string): boolean {
  return KEY_PATTERN.test(key);
}
