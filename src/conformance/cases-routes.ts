// Conformance cases: VirtualService http routes beyond the basics: directResponse, corsPolicy, delegate, rewrites, matches.

import type { ConformanceCase } from './case.js';

export const ROUTE_CASES: ConformanceCase[] = [];
