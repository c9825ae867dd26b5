import DataLoader from "dataloader";

const loaders = new WeakMap<object, Map<string, DataLoader<string, unknown>>>();

/**
 * A DataLoader that lives as long as one request's context: entity lookups made while resolving
 * one operation (e.g. the `_entities` representations the gateway sends in one batch) become one
 * query, and nothing is cached across requests or principals.
 */
export function requestLoader<V>(
  context: object,
  name: string,
  batch: (keys: readonly string[]) => Promise<Map<string, V>>,
): DataLoader<string, V | null> {
  let byName = loaders.get(context);
  if (!byName) {
    byName = new Map();
    loaders.set(context, byName);
  }
  let loader = byName.get(name) as DataLoader<string, V | null> | undefined;
  if (!loader) {
    loader = new DataLoader<string, V | null>(async (keys) => {
      const found = await batch(keys);
      return keys.map((k) => found.get(k) ?? null);
    });
    byName.set(name, loader as DataLoader<string, unknown>);
  }
  return loader;
}
