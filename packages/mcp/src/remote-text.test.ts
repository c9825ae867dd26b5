import { boundRemoteJson, MAX_REMOTE_TEXT_CHARS, truncateRemoteText } from "./remote-text";

describe("truncateRemoteText", () => {
  it("keeps text up to the limit as it is", () => {
    const text = "a".repeat(MAX_REMOTE_TEXT_CHARS);
    expect(truncateRemoteText(text)).toBe(text);
  });

  it("cuts longer text to the limit, marker included", () => {
    const cut = truncateRemoteText("b".repeat(9_000_000));
    expect(cut).toHaveLength(MAX_REMOTE_TEXT_CHARS);
    expect(cut.endsWith("…")).toBe(true);
  });

  it("never leaves half of a surrogate pair at the cut", () => {
    const cut = truncateRemoteText(`${"c".repeat(8)}😀😀😀`, 10);
    expect(cut).toBe(`${"c".repeat(8)}…`);
    expect(cut.length).toBeLessThanOrEqual(10);
  });

  it("replaces NUL characters, which PostgreSQL refuses", () => {
    expect(truncateRemoteText("a\u0000b")).toBe("a\uFFFDb");
  });
});

describe("boundRemoteJson", () => {
  it("keeps a small value as it is", () => {
    const value = { name: "server", version: "1.0.0", tools: { listChanged: true }, n: 1 };
    expect(boundRemoteJson(value)).toEqual(value);
  });

  it("truncates every string and key, however deep", () => {
    const bounded = boundRemoteJson({ a: { b: ["x".repeat(5000)] }, ["k".repeat(500)]: 1 });
    expect(JSON.stringify(bounded).length).toBeLessThan(1200);
  });

  it("keeps a few hundred values of a huge or deep value", () => {
    const wide = Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`k${i}`, i]));
    expect(Object.keys(boundRemoteJson(wide) as object).length).toBeLessThan(500);
    let deep: unknown = "leaf";
    for (let i = 0; i < 1000; i++) deep = [deep];
    expect(JSON.stringify(boundRemoteJson(deep)).length).toBeLessThan(50);
  });
});
