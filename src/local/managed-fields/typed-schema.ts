// The schema server-side apply walks objects with: for every node, whether it is a struct (declared
// fields), a map (any keys), a list and how it merges (atomic, set, or map on key fields), or
// "deduced" (no schema: maps are granular, lists atomic, as structured-merge-diff deduces untyped
// values). Built from the field shapes strict validation uses (config/schemas) plus the list types of
// the built-in kinds (config/schemas/list-types.ts) and, for custom kinds, the Kubernetes extensions of
// their JSON schemas.
import type { FieldShape } from '../../config/schemas/field-shape.js';
import { kindSchema } from '../../config/schemas/kind-schemas.js';
import { alwaysSerializedFields, builtInListType, isAtomicMapField, isAtomicType } from '../../config/schemas/list-types.js';

export type ListSemantics =
  | { readonly type: 'atomic' }
  | { readonly type: 'set' }
  | { readonly type: 'map'; readonly keys: readonly string[]; readonly keyDefaults: Readonly<Record<string, string>> };

export type TypedNode =
  | {
      readonly kind: 'struct';
      /** The declared field `name`, or undefined. */
      field(name: string): TypedNode | undefined;
      /** What undeclared keys are (a schema with both properties and additionalProperties). */
      readonly rest?: TypedNode;
      readonly atomic: boolean;
      /** Fields that exist (empty) whenever the struct does: see list-types.ts. */
      readonly alwaysSerialized: ReadonlySet<string>;
    }
  | { readonly kind: 'map'; readonly values: TypedNode; readonly atomic: boolean }
  | { readonly kind: 'list'; readonly items: TypedNode; readonly list: ListSemantics }
  | { readonly kind: 'deduced' };

export const DEDUCED: TypedNode = { kind: 'deduced' };
const ATOMIC_LIST: ListSemantics = { type: 'atomic' };
const NO_DEFAULTS: Readonly<Record<string, string>> = {};

interface FieldContext {
  typeName: string;
  field: string;
}

const structs = new WeakMap<FieldShape, TypedNode>();

function structNode(shape: Extract<FieldShape, { kind: 'object' }>): TypedNode {
  const cached = structs.get(shape);
  if (cached) return cached;
  const typeName = shape.typeName;
  const fields = new Map<string, TypedNode | undefined>();
  const node: TypedNode = {
    kind: 'struct',
    field(name) {
      if (fields.has(name)) return fields.get(name);
      const fieldShape = shape.fields().get(name);
      const typed = fieldShape ? typedNodeOf(fieldShape, typeName ? { typeName, field: name } : undefined) : undefined;
      fields.set(name, typed);
      return typed;
    },
    ...(shape.rest ? { rest: typedNodeOf(shape.rest) } : {}),
    atomic: shape.atomic === true || (typeName !== undefined && isAtomicType(typeName)),
    alwaysSerialized: new Set(typeName ? alwaysSerializedFields(typeName) : []),
  };
  structs.set(shape, node);
  return node;
}

function listSemantics(shape: Extract<FieldShape, { kind: 'array' }>, context: FieldContext | undefined): ListSemantics {
  const declared = shape.list ?? (context ? builtInListType(context.typeName, context.field) : undefined);
  if (!declared) return ATOMIC_LIST;
  if (declared.type !== 'map') return declared;
  return { type: 'map', keys: declared.keys, keyDefaults: declared.keyDefaults ?? NO_DEFAULTS };
}

/** The typed node of a field shape; `context` names the built-in type and field it belongs to. */
export function typedNodeOf(shape: FieldShape, context?: FieldContext): TypedNode {
  switch (shape.kind) {
    case 'object':
      return structNode(shape);
    case 'map':
      return { kind: 'map', values: typedNodeOf(shape.values), atomic: shape.atomic === true || (context !== undefined && isAtomicMapField(context.typeName, context.field)) };
    case 'array':
      return { kind: 'list', items: typedNodeOf(shape.items), list: listSemantics(shape, context) };
    case 'open':
      return DEDUCED;
  }
}

/** The schema of a served kind at `apiVersion`, or undefined for a kind without one. */
export function kindTypedNode(apiVersion: string, kind: string): TypedNode | undefined {
  const schema = kindSchema(apiVersion, kind);
  return schema ? typedNodeOf(schema.shape()) : undefined;
}
