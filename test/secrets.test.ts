import { randomBytes } from "node:crypto";
import { createPrisma, LocalSecretStore, serverCredentialRef } from "@sprintconnect/core";
import { TEST_DATABASE_URL } from "./support/env";

const db = createPrisma({ DATABASE_URL: TEST_DATABASE_URL, DATABASE_POOL_SIZE: 2, DATABASE_MAX_OVERFLOW: 0 });
afterAll(() => db.$disconnect());

describe("the local secret store", () => {
  const ref = serverCredentialRef(`00000000-0000-4000-8000-${randomBytes(6).toString("hex")}`);

  it("round-trips a secret and keeps only ciphertext in PostgreSQL", async () => {
    const store = new LocalSecretStore(db, randomBytes(32));
    await store.put(ref, "token-very-secret");
    expect(await store.get(ref)).toBe("token-very-secret");
    const row = await db.secretValue.findUniqueOrThrow({ where: { ref } });
    expect(Buffer.from(row.ciphertext).toString("utf8")).not.toContain("very-secret");
    await store.put(ref, "rotated");
    expect(await store.get(ref)).toBe("rotated");
    await store.delete(ref);
    expect(await store.get(ref)).toBeNull();
  });

  it("refuses to decrypt with another key and detects a tampered ciphertext", async () => {
    const store = new LocalSecretStore(db, randomBytes(32));
    await store.put(ref, "s3cret");
    await expect(new LocalSecretStore(db, randomBytes(32)).get(ref)).rejects.toThrow(/another key/);
    const row = await db.secretValue.findUniqueOrThrow({ where: { ref } });
    const flipped = Buffer.from(row.ciphertext);
    flipped[0] = (flipped[0] ?? 0) ^ 0xff;
    await db.secretValue.update({ where: { ref }, data: { ciphertext: flipped } });
    await expect(store.get(ref)).rejects.toThrow();
    await store.delete(ref);
  });

  it("writes and deletes in the caller's transaction, so a rollback undoes both", async () => {
    const store = new LocalSecretStore(db, randomBytes(32));
    const rollback = new Error("rollback");
    await expect(
      db.$transaction(async (tx) => {
        await store.put(ref, "never-kept", tx);
        throw rollback;
      }),
    ).rejects.toBe(rollback);
    expect(await store.get(ref)).toBeNull();
    await store.put(ref, "kept");
    await expect(
      db.$transaction(async (tx) => {
        await store.delete(ref, tx);
        throw rollback;
      }),
    ).rejects.toBe(rollback);
    expect(await store.get(ref)).toBe("kept");
    await store.delete(ref);
  });
});
