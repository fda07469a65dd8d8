// What `meshwork install` puts in a cluster, in the shape Istio's revisioned install has: namespace,
// service accounts with their least-privilege roles (rbac.ts), the istiod Deployment and Service of the revision, the sidecar injector's
// MutatingWebhookConfiguration and the config validator's ValidatingWebhookConfiguration, both
// pointing at that Service; and the IngressClass `istio` (controller istio.io/ingress-controller),
// which Istio's own install leaves to the user (its Kubernetes Ingress task applies it).
import type { KubeObject } from '../k8s/object.js';
import type { DataPlaneKind } from '../agent/data-plane.js';
import { injectorConfigName, istiodName, validatorConfigName, MONITORING_PORT, WEBHOOK_PORT, WEBHOOK_SERVICE_PORT, XDS_PORT, XDS_SECURE_PORT } from './names.js';
import { ISTIO_INGRESS_CONTROLLER } from '../ingress/class.js';
import { controlPlaneRbac } from './rbac.js';

export interface InstallOptions {
  revision: string;
  namespace: 'istio-system';
  /** The meshwork image (MESHWORK_IMAGE). */
  image: string;
  clusterId: string;
  /** The CA that signed the webhook's serving certificate (see webhook-tls.ts). */
  caBundlePem: string;
  /** The data plane injected pods run unless their annotation says otherwise. */
  dataPlane: DataPlaneKind;
  /** Serve plaintext xDS on this port too (the control plane's --plaintext-xds-port); off when absent. */
  plaintextXdsPort?: number;
  /** The cluster's pods are captured with iptables: the injector adds istio-init (the control plane's --interception-mode). */
  interceptionMode?: 'REDIRECT';
}

export function installManifests(opts: InstallOptions): KubeObject[] {
  const name = istiodName(opts.revision);
  const labels = { app: 'istiod', 'istio.io/rev': opts.revision, istio: 'pilot' };
  const selector = { app: 'istiod', 'istio.io/rev': opts.revision };
  const fieldRef = (envName: string, fieldPath: string) => ({ name: envName, valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath } } });

  const namespace: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: opts.namespace } };
  const serviceAccount: KubeObject = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: opts.namespace, labels } };
  const deployment: KubeObject = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: opts.namespace, labels },
    spec: {
      replicas: 1,
      selector: { matchLabels: selector },
      template: {
        // The control plane never gets a sidecar, even in a namespace that is in the mesh.
        metadata: { labels: { ...labels, 'sidecar.istio.io/inject': 'false' } },
        spec: {
          serviceAccountName: name,
          containers: [
            {
              name: 'discovery',
              image: opts.image,
              args: [
                'control-plane', '--cluster-id', opts.clusterId, '--revision', opts.revision, '--data-plane', opts.dataPlane,
                ...(opts.plaintextXdsPort !== undefined ? ['--plaintext-xds-port', String(opts.plaintextXdsPort)] : []),
                ...(opts.interceptionMode ? ['--interception-mode', opts.interceptionMode] : []),
              ],
              ports: [
                { name: 'grpc-xds', containerPort: XDS_PORT, protocol: 'TCP' },
                { name: 'https-dns', containerPort: XDS_SECURE_PORT, protocol: 'TCP' },
                { name: 'http-monitoring', containerPort: MONITORING_PORT, protocol: 'TCP' },
                { name: 'https-webhook', containerPort: WEBHOOK_PORT, protocol: 'TCP' },
              ],
              env: [
                { name: 'REVISION', value: opts.revision },
                { name: 'CLUSTER_ID', value: opts.clusterId },
                fieldRef('POD_NAME', 'metadata.name'),
                fieldRef('POD_NAMESPACE', 'metadata.namespace'),
              ],
              readinessProbe: { httpGet: { path: '/ready', port: MONITORING_PORT }, initialDelaySeconds: 1, periodSeconds: 3, timeoutSeconds: 5 },
            },
          ],
        },
      },
    },
  };
  const service: KubeObject = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: opts.namespace, labels },
    spec: {
      selector,
      ports: [
        { name: 'grpc-xds', port: XDS_PORT, targetPort: XDS_PORT, protocol: 'TCP' },
        { name: 'https-dns', port: XDS_SECURE_PORT, targetPort: XDS_SECURE_PORT, protocol: 'TCP' },
        { name: 'https-webhook', port: WEBHOOK_SERVICE_PORT, targetPort: WEBHOOK_PORT, protocol: 'TCP' },
        { name: 'http-monitoring', port: MONITORING_PORT, targetPort: MONITORING_PORT, protocol: 'TCP' },
      ],
    },
  };
  // The identities and rights before the Deployment: its pod is refused without its service account.
  return [namespace, serviceAccount, ...controlPlaneRbac(opts.revision, opts.namespace), deployment, service, injectorWebhookConfiguration(opts), validatorWebhookConfiguration(opts), istioIngressClass()];
}

/**
 * The class that makes an Ingress Istio's (`spec.ingressClassName: istio`). One per cluster whatever
 * the revision (every revision's control plane serves Istio's Ingresses), not the default class: an
 * Ingress without a class stays another controller's unless meshConfig.ingressControllerMode is DEFAULT.
 */
function istioIngressClass(): KubeObject {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'istio' }, spec: { controller: ISTIO_INGRESS_CONTROLLER } };
}

/**
 * Istio's revisioned injector: namespaces labelled `istio.io/rev=<revision>`, pods labelled so in
 * namespaces with no injection label, and `istio-injection=enabled` namespaces; pods labelled
 * `sidecar.istio.io/inject=false` are never sent.
 */
function injectorWebhookConfiguration(opts: InstallOptions): KubeObject {
  const notOptedOut = { key: 'sidecar.istio.io/inject', operator: 'NotIn', values: ['false'] };
  const common = {
    clientConfig: {
      service: { name: istiodName(opts.revision), namespace: opts.namespace, path: '/inject', port: WEBHOOK_SERVICE_PORT },
      caBundle: Buffer.from(opts.caBundlePem, 'utf8').toString('base64'),
    },
    rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: '*' }],
    failurePolicy: 'Fail',
    sideEffects: 'None',
    admissionReviewVersions: ['v1'],
    timeoutSeconds: 10,
    reinvocationPolicy: 'Never',
  };
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name: injectorConfigName(opts.revision), labels: { app: 'sidecar-injector', 'istio.io/rev': opts.revision } },
    webhooks: [
      {
        name: 'rev.namespace.sidecar-injector.istio.io',
        ...common,
        namespaceSelector: {
          matchExpressions: [
            { key: 'istio.io/rev', operator: 'In', values: [opts.revision] },
            { key: 'istio-injection', operator: 'DoesNotExist' },
          ],
        },
        objectSelector: { matchExpressions: [notOptedOut] },
      },
      {
        name: 'rev.object.sidecar-injector.istio.io',
        ...common,
        namespaceSelector: {
          matchExpressions: [
            { key: 'istio.io/rev', operator: 'DoesNotExist' },
            { key: 'istio-injection', operator: 'DoesNotExist' },
          ],
        },
        objectSelector: { matchExpressions: [notOptedOut, { key: 'istio.io/rev', operator: 'In', values: [opts.revision] }] },
      },
      {
        name: 'namespace.sidecar-injector.istio.io',
        ...common,
        namespaceSelector: { matchExpressions: [{ key: 'istio-injection', operator: 'In', values: ['enabled'] }] },
        objectSelector: { matchExpressions: [notOptedOut] },
      },
    ],
  };
}

/**
 * istiod's config validation: every create and update of networking.istio.io and security.istio.io
 * objects goes to /validate, failurePolicy Fail (as Istio's once its webhook is ready). The
 * `istio.io/rev` objectSelector of Istio's chart is left out: each cluster has one revision.
 */
function validatorWebhookConfiguration(opts: InstallOptions): KubeObject {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: {
      name: validatorConfigName(opts.revision, opts.namespace),
      labels: { app: 'istiod', istio: 'istiod', 'istio.io/rev': opts.revision },
    },
    webhooks: [
      {
        name: 'rev.validation.istio.io',
        clientConfig: {
          service: { name: istiodName(opts.revision), namespace: opts.namespace, path: '/validate', port: WEBHOOK_SERVICE_PORT },
          caBundle: Buffer.from(opts.caBundlePem, 'utf8').toString('base64'),
        },
        rules: [
          {
            operations: ['CREATE', 'UPDATE'],
            apiGroups: ['security.istio.io', 'networking.istio.io', 'telemetry.istio.io', 'extensions.istio.io'],
            apiVersions: ['*'],
            resources: ['*'],
            scope: '*',
          },
        ],
        failurePolicy: 'Fail',
        sideEffects: 'None',
        admissionReviewVersions: ['v1', 'v1beta1'],
        timeoutSeconds: 10,
      },
    ],
  };
}
