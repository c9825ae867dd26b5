import { requestLoader } from "./loaders";

describe("requestLoader", () => {
  it("batches the loads of one request into one call and keeps requests apart", async () => {
    const calls: string[][] = [];
    const batch = async (keys: readonly string[]) => {
      calls.push([...keys]);
      return new Map(keys.filter((k) => k !== "missing").map((k) => [k, { id: k }]));
    };
    const request = {};
    const results = await Promise.all(
      ["a", "b", "a", "missing"].map((id) => requestLoader(request, "things", batch).load(id)),
    );
    expect(calls).toEqual([["a", "b", "missing"]]);
    expect(results).toEqual([{ id: "a" }, { id: "b" }, { id: "a" }, null]);

    await requestLoader({}, "things", batch).load("a");
    expect(calls).toHaveLength(2); // another request: its own loader, no shared cache
  });
});
