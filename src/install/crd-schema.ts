// JSON schemas as the mesh validates with them (Istio's from @kubernetes-models/istio, our GKE and
// Canary schemas, the Kubernetes models of @kubernetes/client-node) turned into the structural
// OpenAPI v3 schemas a CustomResourceDefinition carries (checked by structural-schema.ts):
// - every node typed; a node with no type and nothing below it, or an object that declares no fields
//   (google.protobuf.Struct, Istio's status), becomes x-kubernetes-preserve-unknown-fields: true;
// - `$ref` is inlined (ObjectMeta becomes the plain `type: object` the API server wants), and
//   `x-fields-of: V1ServiceSpec` becomes that model's fields, typed from its attribute table;
// - an object keeps its declared properties or its additionalProperties map, never both;
// - allOf/anyOf/oneOf/not keep only value validations (no type, nullable, description, default);
// - `type: [T, null]` becomes `type: T, nullable: true`; `uniqueItems`, `additionalProperties: false`
//   and keywords a CRD cannot carry are dropped, an unknown keyword is an error.
// Pure: no I/O.
//
// Exports: toStructural(schema, {root}), clientModelSchema(typeName).
import * as clientModels from '@kubernetes/client-node/dist/gen/models/all.js';

export type Schema = Record<string, unknown>;

/** Keywords copied as they are: value validations and documentation. */
const VALUE_KEYWORDS = new Set([
  'description', 'format', 'title', 'default', 'maximum', 'exclusiveMaximum', 'minimum', 'exclusiveMinimum', 'maxLength', 'minLength',
  'pattern', 'maxItems', 'minItems', 'multipleOf', 'enum', 'maxProperties', 'minProperties', 'required', 'example', 'nullable',
  'x-kubernetes-int-or-string', 'x-kubernetes-embedded-resource', 'x-kubernetes-list-map-keys', 'x-kubernetes-list-type',
  'x-kubernetes-map-type', 'x-kubernetes-validations', 'x-kubernetes-preserve-unknown-fields',
]);
/** Handled below (structure). */
const STRUCTURE_KEYWORDS = new Set(['type', 'properties', 'additionalProperties', 'items', 'allOf', 'anyOf', 'oneOf', 'not', '$ref', 'x-fields-of']);
/** Dropped: meaningless or refused in a CRD, and nothing the mesh's validation relies on. */
const DROPPED = new Set(['uniqueItems', '$schema', 'id', 'additionalItems', 'definitions', 'readOnly', 'writeOnly']);
/** Not allowed inside value validations (they are the structure's business). */
const NOT_IN_JUNCTORS = new Set(['type', 'nullable', 'description', 'title', 'default', 'additionalProperties', 'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-embedded-resource', 'x-kubernetes-int-or-string', 'x-kubernetes-list-map-keys', 'x-kubernetes-list-type', 'x-kubernetes-map-type', 'x-kubernetes-validations']);

const OBJECT_META_REF = /^(#\/definitions\/)?io\.k8s\.apimachinery\.pkg\.apis\.meta\.v1\.ObjectMeta#?$/;

function isSchema(v: unknown): v is Schema {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function fail(path: string, message: string): never {
  throw new Error(`cannot make a structural schema: ${path || '<root>'}: ${message}`);
}

/** A schema the package writes for an optional ObjectMeta: `oneOf: [{$ref: ObjectMeta}, {type: null}]`. */
function isObjectMetaRef(s: Schema): boolean {
  if (typeof s.$ref === 'string') return OBJECT_META_REF.test(s.$ref);
  const alternatives = s.oneOf ?? s.anyOf;
  return Array.isArray(alternatives) && alternatives.some((a) => isSchema(a) && typeof a.$ref === 'string' && OBJECT_META_REF.test(a.$ref));
}

/** The structural form of `schema`; `root` also fixes apiVersion, kind and metadata as CRDs want them. */
export function toStructural(schema: Schema, opts: { root?: boolean } = {}): Schema {
  const out = convert(schema, '');
  if (opts.root) {
    const properties = isSchema(out.properties) ? { ...out.properties } : {};
    // The API server sets apiVersion and kind for every served version, and owns metadata's schema.
    properties.apiVersion = { type: 'string', description: 'APIVersion defines the versioned schema of this representation of an object.' };
    properties.kind = { type: 'string', description: 'Kind is a string value representing the REST resource this object represents.' };
    properties.metadata = { type: 'object' };
    const root: Schema = { type: 'object', properties };
    for (const key of ['description', 'required']) if (out[key] !== undefined) root[key] = out[key];
    if (Array.isArray(root.required)) root.required = root.required.filter((r) => r !== 'apiVersion' && r !== 'kind' && r !== 'metadata');
    if (Array.isArray(root.required) && root.required.length === 0) delete root.required;
    return root;
  }
  return out;
}

function convert(s: Schema, path: string): Schema {
  if (isObjectMetaRef(s)) return { type: 'object', ...(typeof s.description === 'string' ? { description: s.description } : {}) };
  if (typeof s.$ref === 'string') fail(path, `$ref ${s.$ref} has no inline form here`);
  if (typeof s['x-fields-of'] === 'string') {
    const model = clientModelSchema(s['x-fields-of']);
    return typeof s.description === 'string' ? { ...model, description: s.description } : model;
  }
  const out: Schema = {};
  for (const [key, value] of Object.entries(s)) {
    if (VALUE_KEYWORDS.has(key)) out[key] = value;
    else if (!STRUCTURE_KEYWORDS.has(key) && !DROPPED.has(key)) fail(path, `keyword "${key}" has no structural form`);
  }
  if (out['x-kubernetes-preserve-unknown-fields'] === false) delete out['x-kubernetes-preserve-unknown-fields'];

  // type: string or [T, 'null'].
  if (Array.isArray(s.type)) {
    const types = s.type.filter((t) => t !== 'null');
    if (types.length !== 1) fail(path, `type ${JSON.stringify(s.type)}: a CRD field has one type`);
    out.type = types[0];
    if (s.type.includes('null')) out.nullable = true;
  } else if (typeof s.type === 'string') {
    if (s.type === 'null') fail(path, 'type null: use nullable');
    out.type = s.type;
  }

  const properties = isSchema(s.properties) ? s.properties : {};
  const names = Object.keys(properties);
  if (names.length > 0) {
    const converted: Schema = {};
    for (const name of names) {
      const sub = properties[name];
      if (!isSchema(sub)) fail(`${path}.${name}`, 'not a schema');
      converted[name] = convert(sub, `${path}.${name}`);
    }
    out.properties = converted;
  }
  // A map keeps its values' schema; declared properties win over a map beside them (CRDs allow one).
  if (isSchema(s.additionalProperties) && names.length === 0) out.additionalProperties = convert(s.additionalProperties, `${path}.*`);
  else if (s.additionalProperties === true && names.length === 0) out['x-kubernetes-preserve-unknown-fields'] = true;
  if (isSchema(s.items)) out.items = convert(s.items, `${path}[]`);
  else if (s.items !== undefined) fail(path, 'items must be one schema');

  for (const junctor of ['allOf', 'anyOf', 'oneOf'] as const) {
    const list = s[junctor];
    if (list === undefined) continue;
    if (!Array.isArray(list)) fail(path, `${junctor} is not a list`);
    out[junctor] = list.map((x, i) => {
      if (!isSchema(x)) fail(`${path}.${junctor}[${i}]`, 'not a schema');
      return valueValidation(x, `${path}.${junctor}[${i}]`);
    });
  }
  if (isSchema(s.not)) out.not = valueValidation(s.not, `${path}.not`);

  const intOrString = out['x-kubernetes-int-or-string'] === true;
  if (intOrString) {
    // The two shapes the API server accepts: no type, and anyOf [integer, string] at most.
    delete out.type;
    delete out['x-kubernetes-preserve-unknown-fields'];
    out.anyOf = [{ type: 'integer' }, { type: 'string' }];
  } else if (out.type === undefined) {
    if (out.properties) out.type = 'object';
    else if (out.items) out.type = 'array';
    else out['x-kubernetes-preserve-unknown-fields'] = true;
  }
  // An object that declares nothing is open in the source (Struct, status): keep what it holds.
  if (out.type === 'object' && !out.properties && !out.additionalProperties) out['x-kubernetes-preserve-unknown-fields'] = true;
  if (out.type === 'array' && !out.items) out.items = { 'x-kubernetes-preserve-unknown-fields': true };
  return out;
}

/** A schema under allOf/anyOf/oneOf/not: value validations only, its fields' structure is outside. */
function valueValidation(s: Schema, path: string): Schema {
  if (isObjectMetaRef(s)) return {};
  if (typeof s.$ref === 'string') fail(path, `$ref ${s.$ref} inside a value validation`);
  const out: Schema = {};
  for (const [key, value] of Object.entries(s)) {
    if (NOT_IN_JUNCTORS.has(key) || DROPPED.has(key)) continue;
    if (key === 'properties') {
      if (!isSchema(value)) fail(path, 'properties is not an object');
      const converted: Schema = {};
      for (const [name, sub] of Object.entries(value)) {
        if (!isSchema(sub)) fail(`${path}.${name}`, 'not a schema');
        converted[name] = valueValidation(sub, `${path}.${name}`);
      }
      if (Object.keys(converted).length > 0) out.properties = converted;
    } else if (key === 'items') {
      if (!isSchema(value)) fail(path, 'items must be one schema');
      out.items = valueValidation(value, `${path}[]`);
    } else if (key === 'allOf' || key === 'anyOf' || key === 'oneOf') {
      if (!Array.isArray(value)) fail(path, `${key} is not a list`);
      out[key] = value.map((x, i) => {
        if (!isSchema(x)) fail(`${path}.${key}[${i}]`, 'not a schema');
        return valueValidation(x, `${path}.${key}[${i}]`);
      });
    } else if (key === 'not') {
      if (!isSchema(value)) fail(path, 'not is not a schema');
      out.not = valueValidation(value, `${path}.not`);
    } else if (VALUE_KEYWORDS.has(key)) out[key] = value;
    else fail(path, `keyword "${key}" has no structural form`);
  }
  return out;
}

interface AttributeEntry {
  baseName: string;
  type: string;
  format?: string;
}

const MODELS: Readonly<Record<string, unknown>> = clientModels;
const ARRAY_TYPE = /^Array<(.+)>$/;
const MAP_TYPE = /^\{ \[key: string\]: (.+); \}$/;

function attributeTable(typeName: string): AttributeEntry[] | undefined {
  const model = MODELS[typeName];
  if (typeof model !== 'function' || !('getAttributeTypeMap' in model) || typeof model.getAttributeTypeMap !== 'function') return undefined;
  const table: unknown = model.getAttributeTypeMap();
  return Array.isArray(table) ? table.filter((e): e is AttributeEntry => isSchema(e) && typeof e.baseName === 'string' && typeof e.type === 'string') : undefined;
}

function scalarSchema(type: string, format: string | undefined, path: string, seen: readonly string[]): Schema {
  const array = ARRAY_TYPE.exec(type);
  if (array) return { type: 'array', items: scalarSchema(array[1]!, undefined, `${path}[]`, seen) };
  const map = MAP_TYPE.exec(type);
  if (map) return { type: 'object', additionalProperties: scalarSchema(map[1]!, undefined, `${path}.*`, seen) };
  switch (type) {
    case 'string':
      return { type: 'string', ...(format === 'byte' ? { format } : {}) };
    case 'boolean':
      return { type: 'boolean' };
    case 'number':
      return format === 'int32' || format === 'int64' ? { type: 'integer', format } : { type: 'number', ...(format ? { format } : {}) };
    case 'Date':
      return { type: 'string', format: 'date-time' };
    case 'IntOrString':
      return { 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }] };
    case 'any':
    case 'object':
      return { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
    default:
      return modelSchema(type, path, seen);
  }
}

function modelSchema(typeName: string, path: string, seen: readonly string[]): Schema {
  // A type that contains itself (JSONSchemaProps) stays open below the first level.
  if (seen.includes(typeName)) return { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
  const table = attributeTable(typeName);
  if (!table) fail(path, `@kubernetes/client-node has no model ${typeName}`);
  const properties: Schema = {};
  for (const e of table) properties[e.baseName] = scalarSchema(e.type, e.format || undefined, `${path}.${e.baseName}`, [...seen, typeName]);
  return { type: 'object', properties };
}

/** The structural schema of a Kubernetes model (`V1ServiceSpec`), typed from client-node's attribute tables. */
export function clientModelSchema(typeName: string): Schema {
  return modelSchema(typeName, typeName, []);
}
