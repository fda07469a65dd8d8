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
  return withNewerFields(module, parsed as JsonSchemaNode);
}

type Node = Record<string, unknown>;
const node = (v: unknown): Node | undefined => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Node) : undefined);
const props = (n: unknown, ...path: string[]): Node | undefined => {
  let cur = node(n);
  for (const p of path) cur = node(p === '[]' ? cur?.items : node(cur?.properties)?.[p]);
  return node(cur?.properties);
};
const stringList = { type: 'array', items: { type: 'string' }, nullable: true };

/**
 * Fields today's Istio serves that the package's (older) CRD schemas lack: HTTPRoute `mirrors` (1.19),
 * `rewrite.uriRegexRewrite` (1.18), `corsPolicy.unmatchedPreflights` (1.22), AuthorizationPolicy `source.serviceAccounts` and
 * `notServiceAccounts` (1.23). Added where missing, so kubectl's strict field validation accepts them.
 */
function withNewerFields(module: string, schema: JsonSchemaNode): JsonSchemaNode {
  const kind = module.split('/')[2];
  if (kind === 'VirtualService') {
    const http = props(schema, 'spec', 'http', '[]');
    if (http) {
      http.mirrors ??= {
        type: 'array',
        nullable: true,
        items: { type: 'object', required: ['destination'], properties: { destination: http.mirror, percentage: http.mirrorPercentage } },
      };
      const cors = props(schema, 'spec', 'http', '[]', 'corsPolicy');
      if (cors) cors.unmatchedPreflights ??= { type: 'string', nullable: true, enum: ['UNSPECIFIED', 'FORWARD', 'IGNORE'] };
      const rewrite = props(schema, 'spec', 'http', '[]', 'rewrite');
      if (rewrite) {
        rewrite.uriRegexRewrite ??= {
          type: 'object',
          nullable: true,
          properties: { match: { type: 'string', nullable: true }, rewrite: { type: 'string', nullable: true } },
        };
      }
    }
  }
  if (kind === 'AuthorizationPolicy') {
    const source = props(schema, 'spec', 'rules', '[]', 'from', '[]', 'source');
    if (source) {
      source.serviceAccounts ??= stringList;
      source.notServiceAccounts ??= stringList;
    }
  }
  return schema;
}
