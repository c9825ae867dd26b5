import { createPrivateKey, createPublicKey, type KeyObject } from "node:crypto";
import { calculateJwkThumbprint, exportJWK, type JWK } from "jose";

/** The signing key of this deployment and the public JWK published at /.well-known/jwks.json. */
export interface KeyRing {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  publicJwk: JWK;
}

/** Builds the key ring from a JWK object, a JWK JSON string or a PKCS#8 PEM (ES256, P-256). */
export async function createKeyRing(material: Record<string, unknown> | string): Promise<KeyRing> {
  let privateKey: KeyObject;
  if (typeof material === "string" && material.trim().startsWith("-----BEGIN")) {
    privateKey = createPrivateKey(material);
  } else {
    const jwk = typeof material === "string" ? (JSON.parse(material) as Record<string, unknown>) : material;
    privateKey = createPrivateKey({ key: jwk as never, format: "jwk" });
  }
  if (privateKey.asymmetricKeyType !== "ec" || privateKey.asymmetricKeyDetails?.namedCurve !== "prime256v1") {
    throw new Error("JWT_SECRET_KEY must be an ES256 (EC P-256) private key");
  }
  const publicKey = createPublicKey(privateKey);
  const exported = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(exported);
  return { kid, privateKey, publicKey, publicJwk: { ...exported, kid, alg: "ES256", use: "sig" } };
}
