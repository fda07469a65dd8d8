// The Canary kind's structural schema (OpenAPI v3, as apiextensions.k8s.io/v1 requires: every field
// typed, status open) and what the CustomResourceDefinition (install/crds.ts) ships of it to real
// clusters: the schema and the printer columns. The local API
// servers validate Canaries with the same schema (config/schemas/kind-schemas.ts) plus the semantic
// rules of validation.ts, which a CRD cannot express (increasing steps, Go durations).
//
// Exports: CANARY_SCHEMA (the whole object's schema), canaryCrdSchema(), CANARY_PRINTER_COLUMNS.
import type { JsonSchemaNode } from '../schemas/field-shape.js';
import { CANARY_DEFAULTS } from './spec.js';
import { CANARY_API_VERSION, CANARY_KIND } from './types.js';

const str: JsonSchemaNode = { type: 'string' };
const nonEmpty: JsonSchemaNode = { type: 'string', minLength: 1 };
const percent: JsonSchemaNode = { type: 'integer', minimum: 1, maximum: 100 };

const side: JsonSchemaNode = {
  type: 'object',
  required: ['subset'],
  properties: { subset: { ...nonEmpty, description: "A subset of the host's DestinationRule." } },
};

const metric: JsonSchemaNode = {
  type: 'object',
  required: ['name', 'thresholdRange'],
  properties: {
    name: { type: 'string', enum: ['request-success-rate', 'request-duration'] },
    thresholdRange: { type: 'object', properties: { min: { type: 'number' }, max: { type: 'number' } } },
  },
};

const webhook: JsonSchemaNode = {
  type: 'object',
  required: ['name', 'type', 'url'],
  properties: {
    name: nonEmpty,
    type: { type: 'string', enum: ['pre-step', 'confirm-promotion'] },
    url: nonEmpty,
    timeout: { type: 'string', default: CANARY_DEFAULTS.webhookTimeout },
  },
};

const analysis: JsonSchemaNode = {
  type: 'object',
  required: ['interval', 'metrics'],
  properties: {
    interval: { ...nonEmpty, description: 'Go duration between checks, e.g. 30s.' },
    threshold: { type: 'integer', minimum: 1, default: CANARY_DEFAULTS.threshold },
    stepWeights: { type: 'array', items: percent, minItems: 1 },
    stepWeight: percent,
    maxWeight: { ...percent, default: CANARY_DEFAULTS.maxWeight },
    minRequests: { type: 'integer', minimum: 0, default: CANARY_DEFAULTS.minRequests },
    metrics: { type: 'array', items: metric },
    prometheus: { type: 'object', required: ['address'], properties: { address: nonEmpty } },
    webhooks: { type: 'array', items: webhook },
  },
};

const spec: JsonSchemaNode = {
  type: 'object',
  required: ['host', 'baseline', 'canary', 'analysis'],
  properties: {
    host: { ...nonEmpty, description: 'The destination host the routes send to (short name or FQDN).' },
    virtualServices: { type: 'array', items: nonEmpty },
    clusters: { type: 'array', items: nonEmpty },
    baseline: side,
    canary: side,
    analysis,
    paused: { type: 'boolean' },
    promote: { type: 'boolean' },
    abort: { type: 'boolean' },
  },
};

export const CANARY_SCHEMA: JsonSchemaNode = {
  type: 'object',
  required: ['apiVersion', 'kind', 'spec'],
  properties: {
    apiVersion: { type: 'string', enum: [CANARY_API_VERSION] },
    kind: { type: 'string', enum: [CANARY_KIND] },
    metadata: { type: 'object' },
    spec,
    // Written by the controller only (status subresource); open so an older schema never rejects a newer controller's fields.
    status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
  },
};

/** The schema as a CRD carries it: without apiVersion/kind enums (the API server sets them) and with a description. */
export function canaryCrdSchema(): JsonSchemaNode {
  const props = { ...(CANARY_SCHEMA.properties as Record<string, JsonSchemaNode>) };
  props.apiVersion = str;
  props.kind = str;
  return { ...CANARY_SCHEMA, description: 'Progressive traffic shifting between two DestinationRule subsets of one host, with analysis and rollback.', properties: props };
}

/** As the local API servers print Canaries (local/apiserver/tables.ts). */
export const CANARY_PRINTER_COLUMNS = [
  { name: 'Host', type: 'string', jsonPath: '.spec.host' },
  { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
  { name: 'Weight', type: 'integer', jsonPath: '.status.canaryWeight' },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
];
