// The CustomResourceDefinitions a real cluster needs for every custom kind the mesh serves (the
// custom kinds of config/kinds.ts: Istio networking and security, GKE multi-cluster networking,
// Meshwork's Canary), apiextensions.k8s.io/v1 with structural schemas made from the very schemas the
// mesh validates with (config/schemas/kind-schemas.ts), converted by crd-schema.ts. Names, versions,
// short names, categories and the status subresource come from kinds.ts, so they are what the local
// API servers serve; printer columns are Istio's (and the local servers' tables). `meshwork install`
// applies them to a real cluster; the local clusters register the same CRDs with an open schema
// (local/cluster-objects.ts), since their API servers validate the kinds themselves.
// Pure: no I/O.
//
// Exports: meshCrds(), crdFor(type, schema), crdSchemaOf(group, version, kind).
import type { ResourceType } from '../k8s/kinds.js';
import type { KubeObject } from '../k8s/object.js';
import { readIstioSchema } from '../config/schemas/istio-schemas.js';
import { MULTI_CLUSTER_INGRESS_SCHEMA, MULTI_CLUSTER_SERVICE_SCHEMA } from '../config/schemas/gke.js';
import { CANARY_PRINTER_COLUMNS, canaryCrdSchema } from '../config/canary/schema.js';
import { CANARY_GROUP, CANARY_KIND, CANARY_VERSION } from '../config/canary/types.js';
import { customResourceTypes } from '../k8s/kinds.js';
import { BACKEND_CONFIG_SCHEMA } from './backend-config-schema.js';
import { type Schema, toStructural } from './crd-schema.js';

const ISTIO_GROUPS = new Set(['networking.istio.io', 'security.istio.io']);
export const CRD_LABELS = { 'app.kubernetes.io/part-of': 'meshwork' };

interface Column {
  name: string;
  type: string;
  jsonPath: string;
  description?: string;
}
const AGE: Column = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.' };
/** Istio's printer columns (and the local API servers' tables, local/apiserver/tables.ts). */
const COLUMNS: Record<string, Column[]> = {
  'networking.istio.io/VirtualService': [
    { name: 'Gateways', type: 'string', jsonPath: '.spec.gateways', description: 'The names of gateways and sidecars that should apply these routes' },
    { name: 'Hosts', type: 'string', jsonPath: '.spec.hosts', description: 'The destination hosts to which traffic is being sent' },
    AGE,
  ],
  'networking.istio.io/DestinationRule': [{ name: 'Host', type: 'string', jsonPath: '.spec.host', description: 'The name of a service from the service registry' }, AGE],
  'networking.istio.io/ServiceEntry': [
    { name: 'Hosts', type: 'string', jsonPath: '.spec.hosts', description: 'The hosts associated with the ServiceEntry' },
    { name: 'Location', type: 'string', jsonPath: '.spec.location', description: 'Whether the service is external to the mesh or part of the mesh (MESH_EXTERNAL or MESH_INTERNAL)' },
    { name: 'Resolution', type: 'string', jsonPath: '.spec.resolution', description: 'Service resolution mode for the hosts (NONE, STATIC, or DNS)' },
    AGE,
  ],
  'security.istio.io/PeerAuthentication': [{ name: 'Mode', type: 'string', jsonPath: '.spec.mtls.mode', description: 'Defines the mTLS mode used for peer authentication.' }, AGE],
  'security.istio.io/AuthorizationPolicy': [{ name: 'Action', type: 'string', jsonPath: '.spec.action', description: 'The operation to take.' }, AGE],
  'networking.gke.io/MultiClusterIngress': [{ name: 'VIP', type: 'string', jsonPath: '.status.VIP' }, AGE],
  [`${CANARY_GROUP}/${CANARY_KIND}`]: CANARY_PRINTER_COLUMNS,
};

/** The schema the mesh validates `kind` in `version` with, as JSON schema (before conversion). */
function sourceSchema(group: string, version: string, kind: string): Schema {
  if (ISTIO_GROUPS.has(group)) {
    // Istio's v1 has v1beta1's fields (kind-schemas.ts serves it with that schema).
    const schemaVersion = version === 'v1' ? 'v1beta1' : version;
    return readIstioSchema(`${group}/${schemaVersion}/${kind}`);
  }
  const key = `${group}/${version}/${kind}`;
  switch (key) {
    case 'networking.gke.io/v1/MultiClusterService':
      return MULTI_CLUSTER_SERVICE_SCHEMA;
    case 'networking.gke.io/v1beta1/MultiClusterIngress':
      return MULTI_CLUSTER_INGRESS_SCHEMA;
    case 'cloud.google.com/v1/BackendConfig':
      return BACKEND_CONFIG_SCHEMA;
    default:
      throw new Error(`not implemented: no CRD schema for ${key}: add it to src/install/crds.ts`);
  }
}

/** The structural openAPIV3Schema of `kind` in `version`, as the CRD carries it. */
export function crdSchemaOf(group: string, version: string, kind: string): Schema {
  if (group === CANARY_GROUP) {
    // Written structural by the canary module itself (config/canary/schema.ts).
    if (version !== CANARY_VERSION) throw new Error(`the Canary CRD has no version ${version}`);
    return canaryCrdSchema() as Schema;
  }
  const schema = toStructural(sourceSchema(group, version, kind), { root: true });
  const properties = schema.properties as Record<string, Schema>;
  // Status is the controllers' (status subresource): open, as Istio's CRDs have it, so an older CRD never drops a newer controller's fields.
  if (properties.status) properties.status = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
  return schema;
}

/**
 * How a CRD's versions carry their schema: `structural`, the mesh's own schemas for a real API server
 * (which validates and prunes with them); `permissive`, an open object for an API server that validates
 * the kinds itself (the local clusters': src/config).
 */
export type CrdSchema = 'structural' | 'permissive';
const PERMISSIVE: Schema = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };

/** The CRD of a custom kind of kinds.ts: its names, every version served (the first stored), printer columns, status subresource. */
export function crdFor(t: ResourceType, schema: CrdSchema = 'structural'): KubeObject {
  const names = {
    kind: t.kind,
    listKind: t.listKind,
    plural: t.plural,
    singular: t.singular,
    ...(t.shortNames.length ? { shortNames: t.shortNames } : {}),
    ...(t.categories.length ? { categories: t.categories } : {}),
  };
  const columns = COLUMNS[`${t.group}/${t.kind}`];
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${t.plural}.${t.group}`, labels: CRD_LABELS },
    spec: {
      group: t.group,
      names,
      scope: t.namespaced ? 'Namespaced' : 'Cluster',
      // kinds.ts lists the storage version first; every listed version is served.
      versions: t.versions.map((name, i) => ({
        name,
        served: true,
        storage: i === 0,
        ...(columns ? { additionalPrinterColumns: columns } : {}),
        ...(t.subresources.includes('status') ? { subresources: { status: {} } } : {}),
        schema: { openAPIV3Schema: schema === 'structural' ? crdSchemaOf(t.group, name, t.kind) : PERMISSIVE },
      })),
    },
  };
}

/** One CRD per custom kind of kinds.ts, in the table's order. */
export function meshCrds(): KubeObject[] {
  return customResourceTypes().map((t) => crdFor(t));
}
