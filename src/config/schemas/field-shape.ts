// The field structure of a kind, used to find fields the schema does not declare (strict field
// validation). The compiled validators only check declared fields and let others through, as the
// OpenAPI schemas carry no `additionalProperties: false`, so unknown fields are found by walking the
// object against the declared properties.
import type { FieldCause } from '../../k8s/status.js';
import { unknownField } from './causes.js';
import { childPath, indexPath } from './field-path.js';

/**
 * How server-side apply merges a list (`x-kubernetes-list-type`): as one value (atomic), as a set of
 * scalars, or as a map keyed by `keys` (`x-kubernetes-list-map-keys`).
 */
export type ListType =
  | { readonly type: 'atomic' }
  | { readonly type: 'set' }
  /** `keyDefaults`: the value an item that omits a key has (the key field's schema default). */
  | { readonly type: 'map'; readonly keys: readonly string[]; readonly keyDefaults?: Readonly<Record<string, string>> };

export type FieldShape =
  /**
   * Declared properties; `rest` describes undeclared keys when the schema allows them. `typeName`
   * names the Kubernetes model (`V1Container`) for built-in types; `atomic` marks
   * `x-kubernetes-map-type: atomic`.
   */
  | { readonly kind: 'object'; readonly fields: () => ReadonlyMap<string, FieldShape>; readonly rest?: FieldShape; readonly typeName?: string; readonly atomic?: boolean }
  | { readonly kind: 'map'; readonly values: FieldShape; readonly atomic?: boolean }
  /** `list` is set when the schema says how the list merges (JSON schemas of custom kinds). */
  | { readonly kind: 'array'; readonly items: FieldShape; readonly list?: ListType }
  /** A scalar, or a free-form value (preserve-unknown-fields, Struct): nothing below it is unknown. */
  | { readonly kind: 'open' };

export const OPEN: FieldShape = { kind: 'open' };

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Appends a FieldValueUnknown cause for every key of `value` that `shape` does not declare. */
export function collectUnknownFields(value: unknown, shape: FieldShape, path: string, out: FieldCause[]): void {
  switch (shape.kind) {
    case 'open':
      return;
    case 'array':
      if (Array.isArray(value)) value.forEach((item, i) => collectUnknownFields(item, shape.items, indexPath(path, i), out));
      return;
    case 'map':
      if (isPlainObject(value)) {
        for (const [key, item] of Object.entries(value)) collectUnknownFields(item, shape.values, childPath(path, key), out);
      }
      return;
    case 'object': {
      if (!isPlainObject(value)) return;
      const fields = shape.fields();
      for (const [key, item] of Object.entries(value)) {
        const fieldShape = fields.get(key) ?? shape.rest;
        // Go's strict decoding names struct fields with dots, whatever characters the key holds.
        const fieldPath = path ? `${path}.${key}` : key;
        if (fieldShape) collectUnknownFields(item, fieldShape, fieldPath, out);
        else out.push(unknownField(fieldPath));
      }
      return;
    }
  }
}

/** Builds an object shape whose field table is computed on first use and kept (schemas can recurse). */
export function lazyObject(build: () => Map<string, FieldShape>, rest?: FieldShape, extra: { typeName?: string; atomic?: boolean } = {}): FieldShape {
  let fields: Map<string, FieldShape> | undefined;
  return {
    kind: 'object',
    fields: () => (fields ??= build()),
    ...(rest ? { rest } : {}),
    ...(extra.typeName ? { typeName: extra.typeName } : {}),
    ...(extra.atomic ? { atomic: true } : {}),
  };
}

/** The list type a JSON schema node declares with the Kubernetes extensions, if any. */
function listTypeOf(node: JsonSchemaNode): ListType | undefined {
  const type = node['x-kubernetes-list-type'];
  if (type === 'atomic' || type === 'set') return { type };
  const keys = node['x-kubernetes-list-map-keys'];
  if (type === 'map' && Array.isArray(keys) && keys.length > 0 && keys.every((k): k is string => typeof k === 'string')) return { type: 'map', keys };
  return undefined;
}

export interface JsonSchemaNode {
  type?: string | string[];
  properties?: Record<string, JsonSchemaNode>;
  additionalProperties?: boolean | JsonSchemaNode;
  items?: JsonSchemaNode;
  allOf?: JsonSchemaNode[];
  anyOf?: JsonSchemaNode[];
  oneOf?: JsonSchemaNode[];
  $ref?: string;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  /** Names a Kubernetes model whose fields this node has (a Service spec inside a GKE template). */
  'x-fields-of'?: string;
  [keyword: string]: unknown;
}

/** Properties declared by a node and by the alternatives it combines (Istio puts oneOf beside properties). */
function declaredProperties(node: JsonSchemaNode, into: Map<string, JsonSchemaNode[]>): void {
  for (const [name, sub] of Object.entries(node.properties ?? {})) {
    const list = into.get(name);
    if (list) list.push(sub);
    else into.set(name, [sub]);
  }
  for (const branch of [...(node.allOf ?? []), ...(node.anyOf ?? []), ...(node.oneOf ?? [])]) declaredProperties(branch, into);
}

/**
 * The shape of a JSON schema. `resolveRef` maps a `$ref` (e.g. to ObjectMeta) to a shape; a ref it
 * does not know is treated as open rather than guessed at.
 */
export function shapeFromJsonSchema(node: JsonSchemaNode, resolveRef: (ref: string) => FieldShape | undefined): FieldShape {
  if (node['x-kubernetes-preserve-unknown-fields'] === true) return OPEN;
  if (node.$ref !== undefined) return resolveRef(node.$ref) ?? OPEN;
  if (node['x-fields-of'] !== undefined) return resolveRef(node['x-fields-of']) ?? OPEN;
  const props = new Map<string, JsonSchemaNode[]>();
  declaredProperties(node, props);
  if (props.size > 0) {
    const rest =
      typeof node.additionalProperties === 'object'
        ? shapeFromJsonSchema(node.additionalProperties, resolveRef)
        : node.additionalProperties === true
          ? OPEN
          : undefined;
    const atomic = node['x-kubernetes-map-type'] === 'atomic';
    return lazyObject(() => {
      const fields = new Map<string, FieldShape>();
      // A property declared in several branches is checked against the first declaration that is not open.
      for (const [name, subs] of props) {
        const shapes = subs.map((s) => shapeFromJsonSchema(s, resolveRef));
        fields.set(name, shapes.find((s) => s.kind !== 'open') ?? OPEN);
      }
      return fields;
    }, rest, { atomic });
  }
  if (typeof node.additionalProperties === 'object') {
    const values = shapeFromJsonSchema(node.additionalProperties, resolveRef);
    return node['x-kubernetes-map-type'] === 'atomic' ? { kind: 'map', values, atomic: true } : { kind: 'map', values };
  }
  if (node.items !== undefined) {
    const list = listTypeOf(node);
    const items = shapeFromJsonSchema(node.items, resolveRef);
    return list ? { kind: 'array', items, list } : { kind: 'array', items };
  }
  for (const branch of [...(node.oneOf ?? []), ...(node.anyOf ?? [])]) {
    const shape = shapeFromJsonSchema(branch, resolveRef);
    if (shape.kind !== 'open') return shape;
  }
  return OPEN;
}
