// Conformance cases: TCP and TLS (SNI) routes, Gateway TCP/TLS servers.

import type { ConformanceCase } from './case.js';

export const L4_CASES: ConformanceCase[] = [];
