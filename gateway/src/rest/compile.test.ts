import { buildSchema, type GraphQLInputType } from "graphql";
import { checkBodyShape, RequestShapeError } from "./compile";

const schema = buildSchema(`
  scalar JSON
  enum Env { dev prod }
  input Inner { token: String }
  input Body { name: String!, tags: [String!], count: Int, ratio: Float, on: Boolean, id: ID, env: Env, meta: JSON, inner: Inner }
  type Query { x(input: Body): Int }
`);
const body = schema.getType("Body") as GraphQLInputType;

describe("checkBodyShape", () => {
  it.each([
    [{ name: "x", tags: "alpha" }, 'Field "tags" must be a list'],
    [{ name: 1 }, 'Field "name" must be a string'],
    [{ name: "x", id: 42 }, 'Field "id" must be a string'],
    [{ name: "x", count: 1.5 }, 'Field "count" must be an integer'],
    [{ name: "x", ratio: "1" }, 'Field "ratio" must be a number'],
    [{ name: "x", on: "true" }, 'Field "on" must be a boolean'],
    [{ name: "x", env: 1 }, 'Field "env" must be a string'],
    [{ name: "x", inner: "t" }, 'Field "inner" must be an object'],
    [{ name: "x", inner: { token: 5 } }, 'Field "inner.token" must be a string'],
    [{ name: "x", tags: ["a", 2] }, 'Field "tags[1]" must be a string'],
  ])("refuses %j instead of coercing it", (value, message) => {
    expect(() => checkBodyShape(value, body, "")).toThrow(new RequestShapeError(message));
  });

  it("accepts well-typed values, nulls, custom scalars, and leaves unknown fields to GraphQL", () => {
    expect(() =>
      checkBodyShape(
        { name: "x", tags: null, count: 2, ratio: 1, on: false, id: "a", env: "dev", meta: [1], extra: 1 },
        body,
        "",
      ),
    ).not.toThrow();
  });
});
