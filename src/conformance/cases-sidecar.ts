// Conformance cases: the Sidecar resource: egress scoping, outboundTrafficPolicy.

import type { ConformanceCase } from './case.js';

export const SIDECAR_CASES: ConformanceCase[] = [];
