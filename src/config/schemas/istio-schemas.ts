// The JSON schemas of the Istio kinds, as shipped by @kubernetes-models/istio (generated from Istio's
// CRD OpenAPI). The package validates with them but does not export them; its model modules hold each
// schema as one JSON literal (`const schema = {...};`), which is read here for the unknown-field walk.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { JsonSchemaNode } from './field-shape.js';

const SCHEMA_START = 'const schema = ';
const SCHEMA_END = '\n};\n';

/** `module` is the package subpath, e.g. `networking.istio.io/v1beta1/VirtualService`. */
export function readIstioSchema(module: string): JsonSchemaNode {
  const file = fileURLToPath(import.meta.resolve(`@kubernetes-models/istio/${module}`));
  const source = readFileSync(file, 'utf8');
  const start = source.indexOf(SCHEMA_START);
  const end = source.indexOf(SCHEMA_END, start);
  if (start < 0 || end < 0) throw new Error(`cannot find the JSON schema literal in ${file}: the package layout changed`);
  const literal = source.slice(start + SCHEMA_START.length, end + 2);
  let parsed: unknown;
  try {
    parsed = JSON.parse(literal);
  } catch (err) {
    throw new Error(`the schema in ${file} is not plain JSON: ${(err as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error(`the schema in ${file} is not an object`);
  return parsed as JsonSchemaNode;
}
