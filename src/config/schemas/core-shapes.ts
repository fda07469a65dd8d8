// Field shapes of the built-in Kubernetes kinds, read from the attribute tables that
// @kubernetes/client-node generates from the Kubernetes OpenAPI document (`V1Container` lists
// `{ baseName: 'imagePullPolicy', type: 'string' }`, ...). The kubernetes-models validators are
// compiled code without their schema, so this is where the declared field names come from.
import * as clientModels from '@kubernetes/client-node/dist/gen/models/all.js';
import { type FieldShape, OPEN, lazyObject } from './field-shape.js';

interface AttributeEntry {
  baseName: string;
  type: string;
}

const MODELS: Readonly<Record<string, unknown>> = clientModels;

function attributeTable(typeName: string): readonly AttributeEntry[] | undefined {
  const model = MODELS[typeName];
  if (typeof model !== 'function' || !('getAttributeTypeMap' in model) || typeof model.getAttributeTypeMap !== 'function') return undefined;
  const table: unknown = model.getAttributeTypeMap();
  if (!Array.isArray(table)) return undefined;
  return table.filter(
    (e): e is AttributeEntry => e !== null && typeof e === 'object' && typeof e.baseName === 'string' && typeof e.type === 'string',
  );
}

const ARRAY_TYPE = /^Array<(.+)>$/;
const MAP_TYPE = /^\{ \[key: string\]: (.+); \}$/;
const cache = new Map<string, FieldShape>();

/** The shape of a client-node model type name such as `V1Deployment`, `Array<V1Container>`, `{ [key: string]: string; }`. */
export function shapeOfClientType(typeName: string): FieldShape {
  const cached = cache.get(typeName);
  if (cached) return cached;
  let shape: FieldShape;
  const array = ARRAY_TYPE.exec(typeName);
  const map = MAP_TYPE.exec(typeName);
  if (array) shape = { kind: 'array', items: shapeOfClientType(array[1]) };
  else if (map) shape = { kind: 'map', values: shapeOfClientType(map[1]) };
  else {
    const table = attributeTable(typeName);
    // Primitives, Date, IntOrString, RawExtension ('any'/'object'): nothing to walk.
    shape = table
      ? lazyObject(() => new Map(table.map((e) => [e.baseName, shapeOfClientType(e.type)])), undefined, { typeName })
      : OPEN;
  }
  cache.set(typeName, shape);
  return shape;
}

/** Throws when a model the validator relies on is missing, so a client-node upgrade cannot silently disable strict checks. */
export function requireClientType(typeName: string): FieldShape {
  if (!attributeTable(typeName)) throw new Error(`@kubernetes/client-node has no model ${typeName}: cannot check unknown fields`);
  return shapeOfClientType(typeName);
}
