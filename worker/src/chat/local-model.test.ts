import { AIMessage, HumanMessage, ToolMessage } from "@langchain/core/messages";
import { costOf } from "./agent-config";
import { jsonObjectsIn, LocalChatModel, planReply } from "./local-model";

describe("the local model's plan", () => {
  it("calls the tools a message names, in the order named, with the message's JSON objects as arguments", () => {
    const reply = planReply(
      [new HumanMessage('first add {"a":1,"b":2} then echo {"text":"x {y}"} please')],
      ["echo", "add", "delete"],
    );
    expect(reply.toolCalls).toEqual([
      { name: "add", args: { a: 1, b: 2 } },
      { name: "echo", args: { text: "x {y}" } },
    ]);
  });

  it("does not take a tool name inside another word", () => {
    expect(planReply([new HumanMessage("echoes and readd")], ["echo", "add"]).toolCalls).toEqual([]);
  });

  it("summarizes the tool results that follow its last call", () => {
    const reply = planReply(
      [
        new HumanMessage("echo"),
        new AIMessage({ content: "", tool_calls: [{ id: "1", name: "echo", args: {} }] }),
        new ToolMessage({ content: "echo: hi", tool_call_id: "1", name: "echo" }),
      ],
      ["echo"],
    );
    expect(reply).toEqual({ text: "Here is what the tools returned: echo returned echo: hi.", toolCalls: [] });
  });

  it("answers from the message when it names no tool", () => {
    expect(planReply([new HumanMessage("  hello there ")], ["echo"]).text).toBe("You said: hello there");
  });

  it("finds balanced JSON objects and skips braces that are not JSON", () => {
    expect(jsonObjectsIn('{not json} {"a":{"b":"}"}} and {"c":[1]}')).toEqual([{ a: { b: "}" } }, { c: [1] }]);
  });

  it("streams word by word and reports usage once", async () => {
    const chunks = [];
    for await (const chunk of await new LocalChatModel().stream([new HumanMessage("one two three")])) {
      chunks.push(chunk);
    }
    expect(chunks.map((c) => c.content).join("")).toBe("You said: one two three");
    expect(chunks.filter((c) => c.usage_metadata)).toHaveLength(1);
    expect(chunks.at(-1)?.usage_metadata).toMatchObject({ input_tokens: 3, output_tokens: 5 });
  });
});

describe("costs", () => {
  it("charges cached input tokens at the cached price and unpriced models nothing", () => {
    const prices = { m: { inputPerMillion: 2, cachedInputPerMillion: 0.5, outputPerMillion: 8 } };
    // (600 × 2 + 400 × 0.5 + 100 × 8) / 1e6
    expect(costOf(prices, "m", { inputTokens: 1_000, cachedTokens: 400, outputTokens: 100 })).toBe("0.00220000");
    expect(costOf(prices, "other", { inputTokens: 1_000, cachedTokens: 0, outputTokens: 100 })).toBe("0");
  });
});
