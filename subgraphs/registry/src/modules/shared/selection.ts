import { collectSubFields } from "@graphql-tools/utils";
import { type FieldNode, GraphQLObjectType, type GraphQLResolveInfo, getNamedType } from "graphql";

/**
 * The names of the fields the operation selects on the object the current field returns, or,
 * with `path`, on the object reached through those fields (`["items"]` for a page's items);
 * fragments, `@skip` and `@include` are applied. Reads use it to fetch only the columns and
 * relations the selection needs.
 */
export function selectedFields(info: GraphQLResolveInfo, ...path: string[]): Set<string> {
  let nodes: FieldNode[] = [...info.fieldNodes];
  let type = getNamedType(info.returnType);
  for (let depth = 0; ; depth++) {
    if (!(type instanceof GraphQLObjectType)) return new Set();
    const { fields } = collectSubFields(info.schema, info.fragments, info.variableValues, type, nodes);
    const step = path[depth];
    if (step === undefined) return new Set([...fields.values()].map((same) => same[0]?.name.value ?? ""));
    nodes = [...fields.values()].filter((same) => same[0]?.name.value === step).flat();
    const field = type.getFields()[step];
    if (!field || nodes.length === 0) return new Set();
    type = getNamedType(field.type);
  }
}
