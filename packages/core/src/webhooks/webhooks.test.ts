import { generateWebhookSecret, webhookRetryDelayMs } from "./webhooks";

describe("webhookRetryDelayMs", () => {
  it("doubles from the base, between half and all of the exponential delay", () => {
    expect(webhookRetryDelayMs(1, 1000, 60_000, () => 0)).toBe(500);
    expect(webhookRetryDelayMs(1, 1000, 60_000, () => 1)).toBe(1000);
    expect(webhookRetryDelayMs(3, 1000, 60_000, () => 0)).toBe(2000);
    expect(webhookRetryDelayMs(3, 1000, 60_000, () => 1)).toBe(4000);
  });

  it("never exceeds the cap", () => {
    expect(webhookRetryDelayMs(40, 1000, 60_000, () => 1)).toBe(60_000);
    expect(webhookRetryDelayMs(40, 1000, 60_000, () => 0)).toBe(30_000);
  });
});

describe("generateWebhookSecret", () => {
  it("makes whsec_ secrets of 32 random bytes, a new one each time", () => {
    const a = generateWebhookSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(a.slice(6), "base64")).toHaveLength(32);
    expect(generateWebhookSecret()).not.toBe(a);
  });
});
