// Schemas for GKE's multi-cluster networking kinds, written from GKE's documented fields
// (Multi Cluster Ingress: MultiClusterService networking.gke.io/v1, MultiClusterIngress
// networking.gke.io/v1beta1) since no package ships them. The Service spec inside a
// MultiClusterService template is checked against the real Kubernetes ServiceSpec schema elsewhere;
// here it is only required to be an object.
import type { JsonSchemaNode } from './field-shape.js';

const stringMap: JsonSchemaNode = { type: 'object', additionalProperties: { type: 'string' } };

/** metadata of a template: only labels and annotations are carried over to the derived objects. */
const templateMetadata: JsonSchemaNode = {
  type: 'object',
  properties: { labels: stringMap, annotations: stringMap },
};

const intOrString: JsonSchemaNode = { anyOf: [{ type: 'integer' }, { type: 'string' }], 'x-kubernetes-int-or-string': true };

function kindHeader(apiVersion: string, kind: string): Record<string, JsonSchemaNode> {
  return {
    apiVersion: { type: 'string', enum: [apiVersion] },
    kind: { type: 'string', enum: [kind] },
    metadata: { type: 'object' },
  };
}

export const MULTI_CLUSTER_SERVICE_SCHEMA: JsonSchemaNode = {
  type: 'object',
  required: ['apiVersion', 'kind', 'spec'],
  properties: {
    ...kindHeader('networking.gke.io/v1', 'MultiClusterService'),
    spec: {
      type: 'object',
      required: ['template'],
      properties: {
        template: {
          type: 'object',
          required: ['spec'],
          properties: {
            metadata: templateMetadata,
            spec: { type: 'object', 'x-fields-of': 'V1ServiceSpec' },
          },
        },
        clusters: {
          type: 'array',
          items: {
            type: 'object',
            required: ['link'],
            // `<location>/<cluster name>`, e.g. `us-central1/gke-us`.
            properties: { link: { type: 'string', pattern: '^[^/]+/[^/]+$' } },
          },
        },
      },
    },
    // Written by the controller; kept open so a newer controller's fields are not rejected.
    status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
  },
};

const ingressBackend: JsonSchemaNode = {
  type: 'object',
  required: ['serviceName', 'servicePort'],
  properties: {
    serviceName: { type: 'string', minLength: 1 },
    servicePort: intOrString,
  },
};

export const MULTI_CLUSTER_INGRESS_SCHEMA: JsonSchemaNode = {
  type: 'object',
  required: ['apiVersion', 'kind', 'spec'],
  properties: {
    ...kindHeader('networking.gke.io/v1beta1', 'MultiClusterIngress'),
    spec: {
      type: 'object',
      required: ['template'],
      properties: {
        template: {
          type: 'object',
          required: ['spec'],
          properties: {
            metadata: templateMetadata,
            spec: {
              type: 'object',
              properties: {
                backend: ingressBackend,
                rules: {
                  type: 'array',
                  items: {
                    type: 'object',
                    properties: {
                      host: { type: 'string' },
                      http: {
                        type: 'object',
                        required: ['paths'],
                        properties: {
                          paths: {
                            type: 'array',
                            items: {
                              type: 'object',
                              required: ['backend'],
                              properties: { path: { type: 'string' }, backend: ingressBackend },
                            },
                          },
                        },
                      },
                    },
                  },
                },
                tls: {
                  type: 'array',
                  items: {
                    type: 'object',
                    properties: { hosts: { type: 'array', items: { type: 'string' } }, secretName: { type: 'string' } },
                  },
                },
              },
            },
          },
        },
      },
    },
    status: {
      type: 'object',
      'x-kubernetes-preserve-unknown-fields': true,
      properties: {
        VIP: { type: 'string' },
        CloudResources: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
      },
    },
  },
};

/**
 * The declared fields of BackendConfig cloud.google.com/v1 (types are checked by the compiled
 * validator of @kubernetes-models/gke; this skeleton only names the fields for the unknown-field walk).
 */
function fields(names: Record<string, JsonSchemaNode>): JsonSchemaNode {
  return { type: 'object', properties: names };
}
const scalar: JsonSchemaNode = {};
const scalarList: JsonSchemaNode = { type: 'array', items: scalar };

export const BACKEND_CONFIG_FIELDS: JsonSchemaNode = fields({
  apiVersion: scalar,
  kind: scalar,
  metadata: scalar,
  spec: fields({
    cdn: fields({
      bypassCacheOnRequestHeaders: { type: 'array', items: fields({ headerName: scalar }) },
      cacheMode: scalar,
      cachePolicy: fields({
        includeHost: scalar,
        includeProtocol: scalar,
        includeQueryString: scalar,
        queryStringBlacklist: scalarList,
        queryStringWhitelist: scalarList,
      }),
      clientTtl: scalar,
      defaultTtl: scalar,
      enabled: scalar,
      maxTtl: scalar,
      negativeCaching: scalar,
      negativeCachingPolicy: { type: 'array', items: fields({ code: scalar, ttl: scalar }) },
      requestCoalescing: scalar,
      serveWhileStale: scalar,
      signedUrlCacheMaxAgeSec: scalar,
      signedUrlKeys: { type: 'array', items: fields({ keyName: scalar, keyValue: scalar, secretName: scalar }) },
    }),
    connectionDraining: fields({ drainingTimeoutSec: scalar }),
    customRequestHeaders: fields({ headers: scalarList }),
    healthCheck: fields({
      checkIntervalSec: scalar,
      healthyThreshold: scalar,
      port: scalar,
      requestPath: scalar,
      timeoutSec: scalar,
      type: scalar,
      unhealthyThreshold: scalar,
    }),
    iap: fields({
      enabled: scalar,
      oauthclientCredentials: fields({ clientID: scalar, clientSecret: scalar, secretName: scalar }),
    }),
    logging: fields({ enable: scalar, sampleRate: scalar }),
    securityPolicy: fields({ name: scalar }),
    sessionAffinity: fields({ affinityCookieTtlSec: scalar, affinityType: scalar }),
    timeoutSec: scalar,
  }),
  status: { type: 'object' },
});
