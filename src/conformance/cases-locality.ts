// Conformance cases: locality load balancing: priorities, distribute, failover.

import type { ConformanceCase } from './case.js';

export const LOCALITY_CASES: ConformanceCase[] = [];
