import { parse } from "graphql";
import { checkOperationText, findUnsafeText } from "./input-text";

describe("findUnsafeText", () => {
  it("finds a NUL or an unpaired surrogate anywhere in a value, keys included, and names its path", () => {
    expect(findUnsafeText({ a: ["ok", "x\u0000"] })).toBe("a[1]");
    expect(findUnsafeText({ a: { b: "\ud800" } })).toBe("a.b");
    expect(findUnsafeText({ a: "\udc00x" })).toBe("a");
    expect(findUnsafeText({ "k\u0000": 1 })).toBe("k\u0000");
    expect(findUnsafeText("\udfff\ud800")).toBe("(value)"); // reversed halves are two lone surrogates
  });

  it("accepts surrogate pairs, other non-ASCII text, numbers and nulls", () => {
    expect(findUnsafeText({ a: "héllo 🌦️ 日本", b: [1, null, true], c: "\ud83d\ude00" })).toBeNull();
  });
});

describe("checkOperationText", () => {
  it("refuses a NUL in an inline literal with BAD_REQUEST", () => {
    expect(() => checkOperationText(parse('{ a(q: "x\\u0000") }'), {})).toThrow(
      expect.objectContaining({ code: "BAD_REQUEST" }),
    );
  });

  it("refuses unsafe text in variables and names the variable", () => {
    expect(() => checkOperationText(parse("query($q: String) { a(q: $q) }"), { q: "\ud800" })).toThrow(
      expect.objectContaining({
        code: "BAD_REQUEST",
        extensions: expect.objectContaining({ details: { variable: "q" } }),
      }),
    );
  });

  it("remembers a document's verdict: the same parsed document is refused again, a clean one still checks its variables", () => {
    const unsafe = parse('{ a(q: "x\\u0000") }');
    for (let i = 0; i < 2; i++) {
      expect(() => checkOperationText(unsafe, {})).toThrow(expect.objectContaining({ code: "BAD_REQUEST" }));
    }
    const clean = parse("query($q: String) { a(q: $q) }");
    expect(() => checkOperationText(clean, { q: "ok" })).not.toThrow();
    expect(() => checkOperationText(clean, { q: "\u0000" })).toThrow(expect.objectContaining({ code: "BAD_REQUEST" }));
  });
});
