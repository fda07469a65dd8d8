// OpenAPI v3 documents: an index at /openapi/v3 and one document per group-version. Schemas are
// permissive (the server validates), but operations carry what kubectl looks for before it hands
// validation to the server: `x-kubernetes-action`, `x-kubernetes-group-version-kind` and the
// `fieldValidation` query parameter. PATCH bodies do not offer strategic merge patch, so kubectl
// builds its apply patches from its compiled-in types (built-in kinds) or as JSON merge patches (CRDs),
// never from these loose schemas.
import { createHash } from 'node:crypto';
import type { ResourceType } from '../../k8s/kinds.js';
import { apiVersionOf, RESOURCE_TYPES } from '../../k8s/kinds.js';
import { customSpecSchema } from '../../config/schemas/kind-schemas.js';

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';
const OBJECT_META = `${META}.ObjectMeta`;
const LIST_META = `${META}.ListMeta`;
const STATUS = `${META}.Status`;
const DELETE_OPTIONS = `${META}.DeleteOptions`;
const SCALE = 'io.k8s.api.autoscaling.v1.Scale';

type Schema = Record<string, unknown>;

function ref(name: string): Schema {
  return { $ref: `#/components/schemas/${name}` };
}

/** Schema names as the apiserver spells them: io.k8s.api.core.v1.Pod, io.istio.networking.v1alpha3.VirtualService. */
export function schemaName(group: string, version: string, kind: string): string {
  if (group === '') return `io.k8s.api.core.${version}.${kind}`;
  if (!group.includes('.')) return `io.k8s.api.${group}.${version}.${kind}`;
  if (group.endsWith('.k8s.io')) return `io.k8s.api.${group.slice(0, -'.k8s.io'.length)}.${version}.${kind}`;
  return `${group.split('.').reverse().join('.')}.${version}.${kind}`;
}

/** On schemas the extension is a list of kinds. */
function gvk(group: string, version: string, kind: string): Schema {
  return { 'x-kubernetes-group-version-kind': [{ group, kind, version }] };
}

/** On operations it is one kind (kubectl reads it as a single map). */
function operationGvk(group: string, version: string, kind: string): Schema {
  return { 'x-kubernetes-group-version-kind': { group, kind, version } };
}

const str = (description: string): Schema => ({ type: 'string', description });
const stringMap = (description: string): Schema => ({ type: 'object', additionalProperties: { type: 'string', default: '' }, description });

function metaSchemas(): Record<string, Schema> {
  return {
    [OBJECT_META]: {
      type: 'object',
      description: 'ObjectMeta is metadata that all persisted resources must have.',
      properties: {
        name: str('Name must be unique within a namespace.'),
        generateName: str('Prefix used by the server to generate a unique name.'),
        namespace: str('Namespace defines the space within which each name must be unique.'),
        uid: str('UID is the unique in time and space value for this object.'),
        resourceVersion: str('An opaque value that represents the internal version of this object.'),
        generation: { type: 'integer', format: 'int64', description: 'A sequence number representing a specific generation of the desired state.' },
        creationTimestamp: { type: 'string', format: 'date-time', description: 'When this object was created.' },
        deletionTimestamp: { type: 'string', format: 'date-time', description: 'When this object will be deleted.' },
        labels: stringMap('Map of string keys and values that can be used to organize and categorize objects.'),
        annotations: stringMap('Unstructured key value map stored with a resource.'),
        finalizers: { type: 'array', items: { type: 'string', default: '' }, description: 'Must be empty before the object is deleted from the registry.' },
        ownerReferences: { type: 'array', items: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true }, description: 'Objects depended by this object.' },
      },
    },
    [LIST_META]: {
      type: 'object',
      description: 'ListMeta describes metadata that synthetic resources must have.',
      properties: { resourceVersion: str('The version of the list.'), continue: str('Token to fetch more results.') },
    },
    [STATUS]: {
      type: 'object',
      description: 'Status is a return value for calls that do not return other objects.',
      'x-kubernetes-preserve-unknown-fields': true,
      ...gvk('', 'v1', 'Status'),
    },
    [DELETE_OPTIONS]: {
      type: 'object',
      description: 'DeleteOptions may be provided when deleting an API object.',
      'x-kubernetes-preserve-unknown-fields': true,
      ...gvk('', 'v1', 'DeleteOptions'),
    },
  };
}

function kindSchema(t: ResourceType, group: string, version: string): Schema {
  return {
    type: 'object',
    description: `${t.kind} (${apiVersionOf(group, version)}), served by the local cluster.`,
    properties: {
      apiVersion: str('APIVersion defines the versioned schema of this representation of an object.'),
      kind: str('Kind is a string value representing the REST resource this object represents.'),
      metadata: { allOf: [ref(OBJECT_META)], default: {}, description: "Standard object's metadata." },
      spec: { description: `Desired state of the ${t.kind}.`, ...(customSpecSchema(apiVersionOf(group, version), t.kind) ?? { type: 'object', 'x-kubernetes-preserve-unknown-fields': true }) },
      status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true, description: `Observed state of the ${t.kind}.` },
    },
    // Kinds such as ConfigMap, Secret, ServiceAccount or EndpointSlice carry top-level fields besides spec.
    'x-kubernetes-preserve-unknown-fields': true,
    ...gvk(group, version, t.kind),
  };
}

function listSchema(t: ResourceType, group: string, version: string): Schema {
  return {
    type: 'object',
    description: `${t.listKind} is a list of ${t.kind}.`,
    required: ['items'],
    properties: {
      apiVersion: str('APIVersion defines the versioned schema of this representation of an object.'),
      kind: str('Kind is a string value representing the REST resource this object represents.'),
      metadata: { allOf: [ref(LIST_META)], default: {} },
      items: { type: 'array', items: { allOf: [ref(schemaName(group, version, t.kind))], default: {} } },
    },
    ...gvk(group, version, t.listKind),
  };
}

function scaleSchema(): Schema {
  return {
    type: 'object',
    description: 'Scale represents a scaling request for a resource.',
    properties: {
      apiVersion: str('APIVersion'),
      kind: str('Kind'),
      metadata: { allOf: [ref(OBJECT_META)], default: {} },
      spec: { type: 'object', properties: { replicas: { type: 'integer', format: 'int32' } } },
      status: { type: 'object', properties: { replicas: { type: 'integer', format: 'int32' }, selector: { type: 'string' } } },
    },
    ...gvk('autoscaling', 'v1', 'Scale'),
  };
}

function queryParam(name: string, description: string, type: 'string' | 'boolean' | 'integer' = 'string'): Schema {
  return { name, in: 'query', description, schema: { type, uniqueItems: true } };
}

const pathParam = (name: string): Schema => ({ name, in: 'path', required: true, description: `${name} of the resource`, schema: { type: 'string', uniqueItems: true } });
const DRY_RUN = queryParam('dryRun', 'When present, indicates that modifications should not be persisted. Valid value: All.');
const FIELD_MANAGER = queryParam('fieldManager', 'A name associated with the actor or entity that is making these changes.');
const FIELD_VALIDATION = queryParam(
  'fieldValidation',
  'How the server handles unknown or duplicate fields: Ignore, Warn (default) or Strict.',
);
const LIST_PARAMS = [
  queryParam('labelSelector', 'A selector to restrict the list of returned objects by their labels.'),
  queryParam('fieldSelector', 'A selector to restrict the list of returned objects by their fields.'),
  queryParam('limit', 'Accepted; the whole list is always returned.', 'integer'),
  queryParam('continue', 'Accepted and ignored.'),
  queryParam('resourceVersion', 'The resource version to list or watch from.'),
  queryParam('timeoutSeconds', 'Timeout for the list/watch call.', 'integer'),
  queryParam('watch', 'Watch for changes to the described resources.', 'boolean'),
  queryParam('allowWatchBookmarks', 'Requests watch events with type BOOKMARK.', 'boolean'),
];

function jsonContent(schema: Schema): Schema {
  return { content: { 'application/json': { schema }, 'application/yaml': { schema } } };
}

function operation(
  action: string,
  operationId: string,
  kindGvk: Schema,
  responseSchema: Schema,
  extra: { parameters?: Schema[]; requestBody?: Schema; created?: boolean } = {},
): Schema {
  const responses: Record<string, Schema> = { '200': { description: 'OK', ...jsonContent(responseSchema) }, '401': { description: 'Unauthorized' } };
  if (extra.created) responses['201'] = { description: 'Created', ...jsonContent(responseSchema) };
  return {
    operationId,
    ...(extra.parameters ? { parameters: extra.parameters } : {}),
    ...(extra.requestBody ? { requestBody: extra.requestBody } : {}),
    responses,
    'x-kubernetes-action': action,
    ...kindGvk,
  };
}

function patchBody(): Schema {
  const schema = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
  return {
    content: {
      'application/json-patch+json': { schema },
      'application/merge-patch+json': { schema },
    },
    required: true,
  };
}

function pathsFor(t: ResourceType, group: string, version: string): Record<string, Schema> {
  const prefix = group ? `/apis/${group}/${version}` : `/api/${version}`;
  const scope = t.namespaced ? `${prefix}/namespaces/{namespace}/${t.plural}` : `${prefix}/${t.plural}`;
  const opName = `${group ? group.split('.')[0] : 'core'}${version}${t.namespaced ? 'Namespaced' : ''}${t.kind}`;
  const kindGvk = operationGvk(group, version, t.kind);
  const object = ref(schemaName(group, version, t.kind));
  const list = ref(schemaName(group, version, t.listKind));
  const writeParams = [DRY_RUN, FIELD_MANAGER, FIELD_VALIDATION];
  const body = { ...jsonContent(object), required: true };
  const scopeParams = t.namespaced ? [pathParam('namespace')] : [];
  const paths: Record<string, Schema> = {
    [scope]: {
      get: operation('list', `list${opName}`, kindGvk, list, { parameters: LIST_PARAMS }),
      post: operation('post', `create${opName}`, kindGvk, object, { parameters: writeParams, requestBody: body, created: true }),
      delete: operation('deletecollection', `deletecollection${opName}`, kindGvk, ref(STATUS), { parameters: [...LIST_PARAMS, DRY_RUN] }),
      parameters: scopeParams,
    },
    [`${scope}/{name}`]: {
      get: operation('get', `read${opName}`, kindGvk, object),
      put: operation('put', `replace${opName}`, kindGvk, object, { parameters: writeParams, requestBody: body, created: true }),
      patch: operation('patch', `patch${opName}`, kindGvk, object, { parameters: [...writeParams, queryParam('force', 'Server-side apply only; not supported.', 'boolean')], requestBody: patchBody() }),
      delete: operation('delete', `delete${opName}`, kindGvk, object, { parameters: [DRY_RUN, queryParam('propagationPolicy', 'Orphan, Background or Foreground.')] }),
      parameters: [pathParam('name'), ...scopeParams],
    },
  };
  if (t.namespaced) {
    paths[`${prefix}/${t.plural}`] = { get: operation('list', `list${opName}ForAllNamespaces`, kindGvk, list, { parameters: LIST_PARAMS }) };
  }
  if (t.subresources.includes('status')) {
    paths[`${scope}/{name}/status`] = {
      get: operation('get', `read${opName}Status`, kindGvk, object),
      put: operation('put', `replace${opName}Status`, kindGvk, object, { parameters: writeParams, requestBody: body }),
      patch: operation('patch', `patch${opName}Status`, kindGvk, object, { parameters: writeParams, requestBody: patchBody() }),
      parameters: [pathParam('name'), ...scopeParams],
    };
  }
  if (t.subresources.includes('scale')) {
    const scaleGvk = operationGvk('autoscaling', 'v1', 'Scale');
    paths[`${scope}/{name}/scale`] = {
      get: operation('get', `read${opName}Scale`, scaleGvk, ref(SCALE)),
      put: operation('put', `replace${opName}Scale`, scaleGvk, ref(SCALE), { parameters: writeParams, requestBody: { ...jsonContent(ref(SCALE)), required: true } }),
      patch: operation('patch', `patch${opName}Scale`, scaleGvk, ref(SCALE), { parameters: writeParams, requestBody: patchBody() }),
      parameters: [pathParam('name'), ...scopeParams],
    };
  }
  return paths;
}

/** The OpenAPI v3 document of one group-version ('' group = core, at api/v1). */
export function groupVersionDocument(group: string, version: string): object {
  const schemas: Record<string, Schema> = metaSchemas();
  let paths: Record<string, Schema> = {};
  for (const t of RESOURCE_TYPES) {
    if (t.group !== group || !t.versions.includes(version)) continue;
    schemas[schemaName(group, version, t.kind)] = kindSchema(t, group, version);
    schemas[schemaName(group, version, t.listKind)] = listSchema(t, group, version);
    if (t.subresources.includes('scale')) schemas[SCALE] = scaleSchema();
    paths = { ...paths, ...pathsFor(t, group, version) };
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: 'v1.32.0' },
    paths,
    components: { schemas, securitySchemes: { BearerToken: { type: 'apiKey', description: 'Bearer Token authentication', name: 'authorization', in: 'header' } } },
    security: [{ BearerToken: [] }],
  };
}

/** 'api/v1', 'apis/apps/v1': the keys of the index and the tails of the document URLs. */
function groupVersionKeys(): Array<{ key: string; group: string; version: string }> {
  const keys: Array<{ key: string; group: string; version: string }> = [];
  for (const t of RESOURCE_TYPES) {
    for (const version of t.versions) {
      const key = t.group ? `apis/${t.group}/${version}` : `api/${version}`;
      if (!keys.some((k) => k.key === key)) keys.push({ key, group: t.group, version });
    }
  }
  return keys;
}

export interface OpenApiDocuments {
  index: object;
  /** The serialized document for 'api/v1' or 'apis/G/V', with its content hash. */
  document(key: string): { body: string; hash: string } | undefined;
}

/** Builds every document once: they only depend on the resource table. */
export function buildOpenApiDocuments(): OpenApiDocuments {
  const docs = new Map<string, { body: string; hash: string }>();
  for (const { key, group, version } of groupVersionKeys()) {
    const body = JSON.stringify(groupVersionDocument(group, version));
    docs.set(key, { body, hash: createHash('sha512').update(body).digest('hex').toUpperCase() });
  }
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const [key, doc] of docs) paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${doc.hash}` };
  return { index: { paths }, document: (key) => docs.get(key) };
}
