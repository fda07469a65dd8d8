// One schema per served group/version/kind: the real validator from kubernetes-models,
// @kubernetes-models/istio or @kubernetes-models/gke (GKE multi-cluster kinds: our JSON schemas), plus
// the declared fields for strict validation. Each entry is built on first use and kept.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { MutatingWebhookConfiguration, ValidatingWebhookConfiguration } from 'kubernetes-models/admissionregistration.k8s.io/v1';
import { CustomResourceDefinition } from 'kubernetes-models/apiextensions.k8s.io/v1';
import { ControllerRevision, DaemonSet, Deployment, ReplicaSet, StatefulSet } from 'kubernetes-models/apps/v1';
import { Job } from 'kubernetes-models/batch/v1';
import { ClusterRole, ClusterRoleBinding, Role, RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { SelfSubjectReview, TokenReview } from 'kubernetes-models/authentication.k8s.io/v1';
import { SelfSubjectAccessReview, SelfSubjectRulesReview, SubjectAccessReview } from 'kubernetes-models/authorization.k8s.io/v1';
import { EndpointSlice } from 'kubernetes-models/discovery.k8s.io/v1';
import { Ingress, IngressClass } from 'kubernetes-models/networking.k8s.io/v1';
import { ConfigMap, Endpoints, Event, Namespace, Node, Pod, Secret, Service, ServiceAccount, ServiceSpec } from 'kubernetes-models/v1';
import { BackendConfig } from '@kubernetes-models/gke/cloud.google.com/v1/BackendConfig';
import * as istioV1alpha3 from '@kubernetes-models/istio/networking.istio.io/v1alpha3';
import * as istioV1beta1 from '@kubernetes-models/istio/networking.istio.io/v1beta1';
import * as istioSecurityV1beta1 from '@kubernetes-models/istio/security.istio.io/v1beta1';
import type { KubeObject } from '../../k8s/object.js';
import type { FieldCause } from '../../k8s/status.js';
import { ajvErrorsToCauses } from './ajv-causes.js';
import { requireClientType } from './core-shapes.js';
import { type FieldShape, type JsonSchemaNode, lazyObject, shapeFromJsonSchema } from './field-shape.js';
import { BACKEND_CONFIG_FIELDS, MULTI_CLUSTER_INGRESS_SCHEMA, MULTI_CLUSTER_SERVICE_SCHEMA } from './gke.js';
import { readIstioSchema } from './istio-schemas.js';
import { CANARY_SCHEMA } from '../canary/schema.js';
import { validateCanarySpec } from '../canary/validation.js';

export interface KindSchema {
  /** Type, required and enum problems, in apiserver form. */
  check(obj: KubeObject): FieldCause[];
  /** The declared fields, for strict (unknown field) validation. */
  shape(): FieldShape;
}

interface Validatable {
  validate(): void;
}
/** A kubernetes-models class: its constructor copies the data, `validate()` throws ajv's ValidationError. */
type ModelClass = new (...args: never[]) => Validatable;

/** Runs a model's validate() and returns its ajv errors; anything else it throws is a real failure. */
function modelErrors(model: ModelClass, data: unknown): ErrorObject[] {
  const instance: Validatable = Reflect.construct(model, [data]);
  try {
    instance.validate();
    return [];
  } catch (err) {
    if (err instanceof Error && 'errors' in err && Array.isArray(err.errors)) return err.errors;
    throw err;
  }
}

/**
 * Validates with a model class. `schemaApiVersion` replaces the object's apiVersion when the schema is
 * shared by several served versions (Istio v1 uses the v1beta1 schema: same fields).
 */
function modelCheck(model: ModelClass, schemaApiVersion?: string): (obj: KubeObject) => FieldCause[] {
  return (obj) => {
    const data = schemaApiVersion ? { ...obj, apiVersion: schemaApiVersion } : obj;
    return ajvErrorsToCauses(modelErrors(model, data), obj);
  };
}

/** Every kind's metadata is an ObjectMeta, whatever its own schema says there. */
function withObjectMeta(shape: FieldShape): FieldShape {
  if (shape.kind !== 'object') throw new Error('a kind schema must describe an object');
  return lazyObject(() => new Map([...shape.fields(), ['metadata', requireClientType('V1ObjectMeta')]]), shape.rest, { typeName: shape.typeName });
}

function resolveRef(ref: string): FieldShape | undefined {
  if (ref.startsWith('io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta')) return requireClientType('V1ObjectMeta');
  if (/^V1[A-Za-z]+$/.test(ref)) return requireClientType(ref);
  return undefined;
}

function jsonShape(schema: JsonSchemaNode): FieldShape {
  return withObjectMeta(shapeFromJsonSchema(schema, resolveRef));
}

function builtIn(model: ModelClass, clientType: string): () => KindSchema {
  return () => {
    let shape: FieldShape | undefined;
    return { check: modelCheck(model), shape: () => (shape ??= withObjectMeta(requireClientType(clientType))) };
  };
}

/** `module` names the schema's model module, e.g. `networking.istio.io/v1beta1/VirtualService`. */
function istio(model: ModelClass, module: string): () => KindSchema {
  const [group, version] = module.split('/');
  return () => {
    let shape: FieldShape | undefined;
    return {
      check: modelCheck(model, `${group}/${version}`),
      shape: () => (shape ??= jsonShape(readIstioSchema(module))),
    };
  };
}

let ajv: Ajv | undefined;
function compile(schema: JsonSchemaNode): ValidateFunction {
  ajv ??= new Ajv({ allErrors: true }).addVocabulary(['x-kubernetes-preserve-unknown-fields', 'x-kubernetes-int-or-string', 'x-fields-of']);
  return ajv.compile(schema);
}

function record(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** A kind described by our own JSON schema; `extra` adds checks of embedded Kubernetes parts. */
function ownSchema(schema: JsonSchemaNode, extra?: (obj: KubeObject) => FieldCause[]): () => KindSchema {
  return () => {
    const validate = compile(schema);
    let shape: FieldShape | undefined;
    return {
      check: (obj) => {
        validate(obj);
        return [...ajvErrorsToCauses(validate.errors, obj), ...(extra ? extra(obj) : [])];
      },
      shape: () => (shape ??= jsonShape(schema)),
    };
  };
}

/** The Service spec inside a MultiClusterService template, against the real ServiceSpec schema. */
function multiClusterServiceTemplate(obj: KubeObject): FieldCause[] {
  const spec = record(record(record(obj.spec)?.template)?.spec);
  if (!spec) return [];
  return ajvErrorsToCauses(modelErrors(ServiceSpec, spec), spec, 'spec.template.spec');
}

const FACTORIES: Record<string, () => KindSchema> = {
  'v1/Namespace': builtIn(Namespace, 'V1Namespace'),
  'v1/Service': builtIn(Service, 'V1Service'),
  'v1/Pod': builtIn(Pod, 'V1Pod'),
  'v1/ServiceAccount': builtIn(ServiceAccount, 'V1ServiceAccount'),
  'v1/Secret': builtIn(Secret, 'V1Secret'),
  'v1/ConfigMap': builtIn(ConfigMap, 'V1ConfigMap'),
  'v1/Event': builtIn(Event, 'CoreV1Event'),
  'v1/Node': builtIn(Node, 'V1Node'),
  'v1/Endpoints': builtIn(Endpoints, 'V1Endpoints'),
  'apiextensions.k8s.io/v1/CustomResourceDefinition': builtIn(CustomResourceDefinition, 'V1CustomResourceDefinition'),
  'authorization.k8s.io/v1/SelfSubjectAccessReview': builtIn(SelfSubjectAccessReview, 'V1SelfSubjectAccessReview'),
  'authorization.k8s.io/v1/SelfSubjectRulesReview': builtIn(SelfSubjectRulesReview, 'V1SelfSubjectRulesReview'),
  'authentication.k8s.io/v1/SelfSubjectReview': builtIn(SelfSubjectReview, 'V1SelfSubjectReview'),
  'authentication.k8s.io/v1/TokenReview': builtIn(TokenReview, 'V1TokenReview'),
  'authorization.k8s.io/v1/SubjectAccessReview': builtIn(SubjectAccessReview, 'V1SubjectAccessReview'),
  'apps/v1/Deployment': builtIn(Deployment, 'V1Deployment'),
  'apps/v1/ReplicaSet': builtIn(ReplicaSet, 'V1ReplicaSet'),
  'apps/v1/StatefulSet': builtIn(StatefulSet, 'V1StatefulSet'),
  'apps/v1/DaemonSet': builtIn(DaemonSet, 'V1DaemonSet'),
  'apps/v1/ControllerRevision': builtIn(ControllerRevision, 'V1ControllerRevision'),
  'batch/v1/Job': builtIn(Job, 'V1Job'),
  'rbac.authorization.k8s.io/v1/ClusterRole': builtIn(ClusterRole, 'V1ClusterRole'),
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': builtIn(ClusterRoleBinding, 'V1ClusterRoleBinding'),
  'rbac.authorization.k8s.io/v1/Role': builtIn(Role, 'V1Role'),
  'rbac.authorization.k8s.io/v1/RoleBinding': builtIn(RoleBinding, 'V1RoleBinding'),
  'discovery.k8s.io/v1/EndpointSlice': builtIn(EndpointSlice, 'V1EndpointSlice'),
  'networking.k8s.io/v1/Ingress': builtIn(Ingress, 'V1Ingress'),
  'networking.k8s.io/v1/IngressClass': builtIn(IngressClass, 'V1IngressClass'),
  'admissionregistration.k8s.io/v1/MutatingWebhookConfiguration': builtIn(MutatingWebhookConfiguration, 'V1MutatingWebhookConfiguration'),
  'admissionregistration.k8s.io/v1/ValidatingWebhookConfiguration': builtIn(ValidatingWebhookConfiguration, 'V1ValidatingWebhookConfiguration'),
  'cloud.google.com/v1/BackendConfig': () => {
    let shape: FieldShape | undefined;
    return { check: modelCheck(BackendConfig), shape: () => (shape ??= jsonShape(BACKEND_CONFIG_FIELDS)) };
  },
  'networking.gke.io/v1/MultiClusterService': ownSchema(MULTI_CLUSTER_SERVICE_SCHEMA, multiClusterServiceTemplate),
  'networking.gke.io/v1beta1/MultiClusterIngress': ownSchema(MULTI_CLUSTER_INGRESS_SCHEMA),
  'rollouts.meshwork.io/v1alpha1/Canary': ownSchema(CANARY_SCHEMA, (obj) => {
    const causes: FieldCause[] = [];
    validateCanarySpec(obj.spec, causes);
    return causes;
  }),
};

const ISTIO_NETWORKING: Array<[string, ModelClass, ModelClass]> = [
  ['VirtualService', istioV1alpha3.VirtualService, istioV1beta1.VirtualService],
  ['DestinationRule', istioV1alpha3.DestinationRule, istioV1beta1.DestinationRule],
  ['Gateway', istioV1alpha3.Gateway, istioV1beta1.Gateway],
  ['ServiceEntry', istioV1alpha3.ServiceEntry, istioV1beta1.ServiceEntry],
  ['Sidecar', istioV1alpha3.Sidecar, istioV1beta1.Sidecar],
];
for (const [kind, alpha3, beta1] of ISTIO_NETWORKING) {
  FACTORIES[`networking.istio.io/v1alpha3/${kind}`] = istio(alpha3, `networking.istio.io/v1alpha3/${kind}`);
  FACTORIES[`networking.istio.io/v1beta1/${kind}`] = istio(beta1, `networking.istio.io/v1beta1/${kind}`);
  FACTORIES[`networking.istio.io/v1/${kind}`] = istio(beta1, `networking.istio.io/v1beta1/${kind}`);
}
const ISTIO_SECURITY: Array<[string, ModelClass]> = [
  ['PeerAuthentication', istioSecurityV1beta1.PeerAuthentication],
  ['AuthorizationPolicy', istioSecurityV1beta1.AuthorizationPolicy],
];
for (const [kind, beta1] of ISTIO_SECURITY) {
  FACTORIES[`security.istio.io/v1beta1/${kind}`] = istio(beta1, `security.istio.io/v1beta1/${kind}`);
  FACTORIES[`security.istio.io/v1/${kind}`] = istio(beta1, `security.istio.io/v1beta1/${kind}`);
}

/** The Istio module whose schema describes `apiVersion` + `kind` (v1 is served with v1beta1's schema). */
function istioModule(apiVersion: string, kind: string): string | undefined {
  const [group, version] = apiVersion.split('/');
  if (group !== 'networking.istio.io' && group !== 'security.istio.io') return undefined;
  if (FACTORIES[`${apiVersion}/${kind}`] === undefined) return undefined;
  return `${group}/${version === 'v1' ? 'v1beta1' : version}/${kind}`;
}

/**
 * The structure of a custom kind's `spec` (types and nested fields, as the CRD's OpenAPI has them), for
 * the API server's OpenAPI documents and so `kubectl explain KIND.spec.a.b`; undefined when none is known.
 */
export function customSpecSchema(apiVersion: string, kind: string): JsonSchemaNode | undefined {
  const module = istioModule(apiVersion, kind);
  const schema = module ? readIstioSchema(module) : kind === 'MultiClusterService' ? MULTI_CLUSTER_SERVICE_SCHEMA : kind === 'MultiClusterIngress' ? MULTI_CLUSTER_INGRESS_SCHEMA : kind === 'Canary' ? CANARY_SCHEMA : undefined;
  const props = schema?.properties;
  const spec = props !== null && typeof props === 'object' && !Array.isArray(props) ? (props as Record<string, unknown>).spec : undefined;
  return spec !== null && typeof spec === 'object' && !Array.isArray(spec) ? (spec as JsonSchemaNode) : undefined;
}

const built = new Map<string, KindSchema>();

/** The schema of `apiVersion` + `kind`, or undefined for a kind we do not serve. */
export function kindSchema(apiVersion: string, kind: string): KindSchema | undefined {
  const key = `${apiVersion}/${kind}`;
  let schema = built.get(key);
  if (!schema) {
    const factory = FACTORIES[key];
    if (!factory) return undefined;
    schema = factory();
    built.set(key, schema);
  }
  return schema;
}

/** The group/version/kind keys that have a schema (tests check the resource table is covered). */
export function schemaKeys(): string[] {
  return Object.keys(FACTORIES);
}
