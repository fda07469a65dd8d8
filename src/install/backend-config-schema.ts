// BackendConfig cloud.google.com/v1 with its types, for the CRD `meshwork install` ships. The mesh
// validates BackendConfigs with the compiled validator of @kubernetes-models/gke, which holds no JSON
// schema to convert, and config/schemas/gke.ts names only its fields; the types here are that
// validator's (integers int64, logging.sampleRate a double, the same required fields), and a unit
// test holds both to the same field set and the same verdicts.
//
// Exports: BACKEND_CONFIG_SCHEMA.
import type { Schema } from './crd-schema.js';

const str: Schema = { type: 'string' };
const bool: Schema = { type: 'boolean' };
const int64: Schema = { type: 'integer', format: 'int64' };
const strings: Schema = { type: 'array', items: str };
const obj = (properties: Record<string, Schema>, required?: string[]): Schema => ({ type: 'object', properties, ...(required ? { required } : {}) });

export const BACKEND_CONFIG_SCHEMA: Schema = obj({
  apiVersion: str,
  kind: str,
  metadata: { type: 'object' },
  spec: obj({
    cdn: obj(
      {
        bypassCacheOnRequestHeaders: { type: 'array', items: obj({ headerName: str }) },
        cacheMode: str,
        cachePolicy: obj({ includeHost: bool, includeProtocol: bool, includeQueryString: bool, queryStringBlacklist: strings, queryStringWhitelist: strings }),
        clientTtl: int64,
        defaultTtl: int64,
        enabled: bool,
        maxTtl: int64,
        negativeCaching: bool,
        negativeCachingPolicy: { type: 'array', items: obj({ code: int64, ttl: int64 }) },
        requestCoalescing: bool,
        serveWhileStale: int64,
        signedUrlCacheMaxAgeSec: int64,
        signedUrlKeys: { type: 'array', items: obj({ keyName: str, keyValue: str, secretName: str }) },
      },
      ['enabled'],
    ),
    connectionDraining: obj({ drainingTimeoutSec: int64 }),
    customRequestHeaders: obj({ headers: strings }),
    healthCheck: obj({ checkIntervalSec: int64, healthyThreshold: int64, port: int64, requestPath: str, timeoutSec: int64, type: str, unhealthyThreshold: int64 }),
    iap: obj({ enabled: bool, oauthclientCredentials: obj({ clientID: str, clientSecret: str, secretName: str }, ['secretName']) }, ['enabled', 'oauthclientCredentials']),
    logging: obj({ enable: bool, sampleRate: { type: 'number', format: 'double' } }),
    securityPolicy: obj({ name: str }, ['name']),
    sessionAffinity: obj({ affinityCookieTtlSec: int64, affinityType: str }),
    timeoutSec: int64,
  }),
  status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
});
