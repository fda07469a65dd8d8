// The translator's public API: (mesh snapshot, proxy) -> Envoy v3 resources, the config analyzer,
// and the simulator that walks generated resources as Envoy would.

export { translate, analyze, proxylessListenerNames } from './translate.js';
export { simulate, danglingReferences, selectVirtualHost } from './simulate.js';
export type { SimulatedRequest, SimulationResult, SimulatedEndpoint } from './simulate.js';
export type { Problem, ProblemCode, ConfigKind } from '../config/problems.js';
export { TYPE_URL } from './envoy-types.js';
export type * from './envoy-types.js';
export { HTTP_PROXY_ROUTE, OUTBOUND_PORT } from './listeners.js';
