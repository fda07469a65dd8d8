// Conformance cases: DestinationRule load balancing: simple policies, consistentHash, connection pools, warmup.

import type { ConformanceCase } from './case.js';

export const BALANCING_CASES: ConformanceCase[] = [];
