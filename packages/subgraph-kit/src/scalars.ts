import { GraphQLJSONObject } from "graphql-scalars";

/** Free-form JSON object (metadata, schemas, audit data). */
export const JSONObjectScalar = GraphQLJSONObject;

/** `true` when `value` is a UUID; ids that are not cannot exist. */
export function isUuid(value: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);
}
