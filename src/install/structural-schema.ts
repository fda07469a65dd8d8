// The rules kube-apiserver applies to a CustomResourceDefinition's openAPIV3Schema before it accepts
// it (apiextensions.k8s.io/v1), as a pure checker: a CRD that fails here would be refused by a real
// cluster with the same complaint. Three layers, as apiextensions-apiserver has them:
// - OpenAPI v3 as CRDs allow it: no $ref, definitions, dependencies, patternProperties, additionalItems,
//   `type: null`, tuple `items`, `uniqueItems: true`, `x-kubernetes-preserve-unknown-fields: false`;
//   properties and additionalProperties are mutually exclusive; with the status subresource the root
//   has only properties, required, description, type (and a few generic keywords).
// - Structural: a non-empty `type` on the root, every property and every array's items (unless the
//   node is x-kubernetes-int-or-string or x-kubernetes-preserve-unknown-fields); arrays have items;
//   the root is an object without additionalProperties; root apiVersion and kind are strings; root
//   metadata is an object restricting at most name and generateName.
// - Value validations (allOf, anyOf, oneOf, not) carry no type, nullable, default, description,
//   title, additionalProperties or x-kubernetes-* extensions (except the int-or-string anyOf
//   pattern), name no metadata, and every property or items they mention exists in the structure.
//
// Exports: structuralProblems(schema, opts) -> ['path: message', ...] (empty when the schema is accepted).

type Node = Record<string, unknown>;

const TYPES = new Set(['array', 'boolean', 'integer', 'number', 'object', 'string']);
/** JSONSchemaProps' fields: anything else is an unknown field the API server refuses (strict decoding). */
const KNOWN_KEYWORDS = new Set([
  'id', '$schema', '$ref', 'description', 'type', 'format', 'title', 'default', 'maximum', 'exclusiveMaximum', 'minimum',
  'exclusiveMinimum', 'maxLength', 'minLength', 'pattern', 'maxItems', 'minItems', 'uniqueItems', 'multipleOf', 'enum',
  'maxProperties', 'minProperties', 'required', 'items', 'allOf', 'oneOf', 'anyOf', 'not', 'properties', 'additionalProperties',
  'patternProperties', 'dependencies', 'additionalItems', 'definitions', 'externalDocs', 'example', 'nullable',
  'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-embedded-resource', 'x-kubernetes-int-or-string',
  'x-kubernetes-list-map-keys', 'x-kubernetes-list-type', 'x-kubernetes-map-type', 'x-kubernetes-validations',
]);
const FORBIDDEN = ['id', 'additionalItems', 'patternProperties', 'definitions', 'dependencies', '$ref'] as const;
/** What the root may hold when the status or scale subresource is on (apiextensions' allowedFieldsAtRootSchema). */
const ROOT_ALLOWED = new Set([
  'description', 'type', 'format', 'title', 'maximum', 'exclusiveMaximum', 'minimum', 'exclusiveMinimum', 'maxLength', 'minLength',
  'pattern', 'maxItems', 'minItems', 'uniqueItems', 'multipleOf', 'required', 'items', 'properties', 'externalDocs', 'example',
  'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-validations',
]);
/** Forbidden inside allOf/anyOf/oneOf/not ("must be empty to be structural"). */
const NOT_IN_JUNCTORS = [
  'type', 'additionalProperties', 'default', 'title', 'description', 'nullable', 'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-embedded-resource', 'x-kubernetes-int-or-string', 'x-kubernetes-list-map-keys', 'x-kubernetes-list-type',
  'x-kubernetes-map-type', 'x-kubernetes-validations',
] as const;
const JUNCTORS = ['allOf', 'anyOf', 'oneOf'] as const;

function isNode(v: unknown): v is Node {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function props(n: Node): Record<string, unknown> {
  return isNode(n.properties) ? n.properties : {};
}

function isIntOrStringAnyOf(anyOf: unknown): boolean {
  if (!Array.isArray(anyOf) || anyOf.length !== 2) return false;
  const [a, b] = anyOf;
  const only = (x: unknown, type: string) => isNode(x) && Object.keys(x).length === 1 && x.type === type;
  return only(a, 'integer') && only(b, 'string');
}

export interface StructuralOptions {
  /** The version has the status or scale subresource: the root is restricted further. */
  subresources?: boolean;
}

/** Every reason the API server would refuse `schema` as an openAPIV3Schema; [] when it would accept it. */
export function structuralProblems(schema: unknown, opts: StructuralOptions = {}): string[] {
  const out: string[] = [];
  if (!isNode(schema)) return ['openAPIV3Schema: must be an object'];
  standard(schema, 'openAPIV3Schema', out, { root: true, inMeta: false });
  structure(schema, 'root', 'openAPIV3Schema', out);
  if (opts.subresources) {
    for (const key of Object.keys(schema)) {
      if (!ROOT_ALLOWED.has(key)) out.push(`openAPIV3Schema.${key}: Forbidden: only ${[...ROOT_ALLOWED].join(', ')} are allowed at the root of the schema if the status or scale subresources are enabled`);
    }
  }
  return out;
}

/** OpenAPI as CRDs allow it, on every node (structure and value validations alike). */
function standard(n: Node, path: string, out: string[], ctx: { root: boolean; inMeta: boolean }): void {
  for (const key of Object.keys(n)) if (!KNOWN_KEYWORDS.has(key)) out.push(`${path}.${key}: unknown field (not a JSONSchemaProps field)`);
  for (const key of FORBIDDEN) if (key in n) out.push(`${path}.${key}: Forbidden: ${key} is not supported`);
  if (n.type !== undefined && (typeof n.type !== 'string' || !TYPES.has(n.type))) {
    out.push(n.type === 'null' ? `${path}.type: Forbidden: type cannot be set to null, use nullable as an alternative` : `${path}.type: Unsupported value: ${JSON.stringify(n.type)}: supported values: ${[...TYPES].join(', ')}`);
  }
  if (Array.isArray(n.items)) out.push(`${path}.items: Forbidden: items must be a schema object and not an array`);
  if (n.uniqueItems === true) out.push(`${path}.uniqueItems: Forbidden: uniqueItems cannot be set to true since the runtime complexity becomes quadratic`);
  if (n['x-kubernetes-preserve-unknown-fields'] === false) out.push(`${path}.x-kubernetes-preserve-unknown-fields: Invalid value: false: must be true or undefined`);
  if (ctx.inMeta && n.default !== undefined) out.push(`${path}.default: Forbidden: must not be set in top-level metadata, apiVersion or kind`);
  if (n.additionalProperties !== undefined && Object.keys(props(n)).length > 0 && n.additionalProperties !== true) {
    out.push(`${path}.additionalProperties: Forbidden: additionalProperties and properties are mutual exclusive`);
  }
  if (typeof n.pattern === 'string') {
    try {
      new RegExp(n.pattern, 'u');
    } catch (err) {
      out.push(`${path}.pattern: Invalid value: must be a valid regular expression: ${(err as Error).message}`);
    }
  }
  for (const [name, sub] of Object.entries(props(n))) {
    if (isNode(sub)) standard(sub, `${path}.properties[${name}]`, out, { root: false, inMeta: ctx.root && ['metadata', 'apiVersion', 'kind'].includes(name) });
  }
  if (isNode(n.items)) standard(n.items, `${path}.items`, out, { root: false, inMeta: false });
  if (isNode(n.additionalProperties)) standard(n.additionalProperties, `${path}.additionalProperties`, out, { root: false, inMeta: ctx.inMeta });
  if (isNode(n.not)) standard(n.not, `${path}.not`, out, { root: false, inMeta: false });
  for (const j of JUNCTORS) {
    const list = n[j];
    if (Array.isArray(list)) list.forEach((s, i) => isNode(s) && standard(s, `${path}.${j}[${i}]`, out, { root: false, inMeta: false }));
  }
}

type Level = 'root' | 'item' | 'field';

/** The structural invariants of a node outside value validations, then its value validations. */
function structure(n: Node, level: Level, path: string, out: string[]): void {
  const intOrString = n['x-kubernetes-int-or-string'] === true;
  const preserve = n['x-kubernetes-preserve-unknown-fields'] === true;
  if (n.type === 'array' && n.items === undefined) out.push(`${path}.items: Required value: must be specified`);
  if (isNode(n.items)) structure(n.items, 'item', `${path}.items`, out);
  for (const [name, sub] of Object.entries(props(n))) if (isNode(sub)) structure(sub, 'field', `${path}.properties[${name}]`, out);
  if (n.additionalProperties !== undefined && level === 'root') out.push(`${path}.additionalProperties: Forbidden: must not be used at the root`);
  if (isNode(n.additionalProperties)) structure(n.additionalProperties, 'field', `${path}.additionalProperties`, out);
  if (intOrString && preserve) out.push(`${path}.x-kubernetes-preserve-unknown-fields: Invalid value: true: must be false if x-kubernetes-int-or-string is true`);
  if (n['x-kubernetes-embedded-resource'] === true && n.type !== 'object') out.push(`${path}.type: Required value: must be object if x-kubernetes-embedded-resource is true`);
  if ((n.type === undefined || n.type === '') && !intOrString && !preserve) {
    const what = level === 'root' ? 'must not be empty at the root' : level === 'item' ? 'must not be empty for specified array items' : 'must not be empty for specified object fields';
    out.push(`${path}.type: Required value: ${what}`);
  }
  if (level === 'root' && n.type !== undefined && n.type !== 'object') out.push(`${path}.type: Invalid value: ${JSON.stringify(n.type)}: must be object at the root`);
  if (level === 'root') {
    const p = props(n);
    for (const key of ['kind', 'apiVersion']) {
      const sub = p[key];
      if (isNode(sub) && sub.type !== 'string') out.push(`${path}.properties[${key}].type: Invalid value: ${JSON.stringify(sub.type)}: must be string`);
    }
    const meta = p.metadata;
    if (isNode(meta)) {
      if (meta.type !== 'object') out.push(`${path}.properties[metadata].type: Invalid value: ${JSON.stringify(meta.type)}: must be object`);
      const extra = Object.keys(meta).filter((k) => k !== 'type' && !(k === 'properties' && Object.keys(props(meta)).every((f) => f === 'name' || f === 'generateName')));
      if (extra.length > 0) out.push(`${path}.properties[metadata]: Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified`);
    }
  }

  // Value validations: their own rules, and every field they name must be in this structure.
  const skipAnyOf = intOrString && isIntOrStringAnyOf(n.anyOf);
  const skipFirstAllOfAnyOf = intOrString && Array.isArray(n.allOf) && isNode(n.allOf[0]) && isIntOrStringAnyOf(n.allOf[0].anyOf);
  valueValidations(n, n, path, path, out, skipAnyOf, skipFirstAllOfAnyOf);
}

/** The junctors of `v` (a structural node or a nested value validation), checked against structure `s`. */
function valueValidations(v: Node, s: Node | undefined, vPath: string, sPath: string, out: string[], skipAnyOf = false, skipFirstAllOfAnyOf = false, missing = false): void {
  if (!skipAnyOf && Array.isArray(v.anyOf)) v.anyOf.forEach((x, i) => isNode(x) && nested(x, s, `${vPath}.anyOf[${i}]`, sPath, out, missing));
  if (Array.isArray(v.allOf)) {
    v.allOf.forEach((x, i) => {
      if (!isNode(x)) return;
      const { anyOf: _intOrString, ...rest } = x;
      nested(i === 0 && skipFirstAllOfAnyOf ? rest : x, s, `${vPath}.allOf[${i}]`, sPath, out, missing);
    });
  }
  if (Array.isArray(v.oneOf)) v.oneOf.forEach((x, i) => isNode(x) && nested(x, s, `${vPath}.oneOf[${i}]`, sPath, out, missing));
  if (isNode(v.not)) nested(v.not, s, `${vPath}.not`, sPath, out, missing);
}

function nested(v: Node, s: Node | undefined, vPath: string, sPath: string, out: string[], missingReported = false): void {
  let missing = missingReported;
  if (!s && !missing) {
    out.push(`${sPath}: Required value: because it is defined in ${vPath}`);
    missing = true;
  }
  for (const key of NOT_IN_JUNCTORS) {
    if (v[key] === undefined || (key === 'nullable' && v[key] === false)) continue;
    out.push(`${vPath}.${key}: Forbidden: must be ${key === 'nullable' ? 'false' : 'empty'} to be structural`);
  }
  if ('metadata' in props(v)) out.push(`${vPath}.properties[metadata]: Forbidden: must not be specified in a nested context`);
  valueValidations(v, s, vPath, sPath, out, false, false, missing);
  if (isNode(v.items)) nested(v.items, s && isNode(s.items) ? s.items : undefined, `${vPath}.items`, `${sPath}.items`, out, missing);
  const sProps = s ? props(s) : {};
  for (const [name, sub] of Object.entries(props(v))) {
    if (!isNode(sub)) continue;
    const sSub = sProps[name];
    nested(sub, isNode(sSub) ? sSub : undefined, `${vPath}.properties[${name}]`, `${sPath}.properties[${name}]`, out, missing);
  }
}
