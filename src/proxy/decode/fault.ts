// envoy.extensions.filters.http.fault.v3.HTTPFault -> FaultConfig.

import type { FaultConfig } from '../model/fault.js';
import { durationMs, fractionalPercent, join, num, obj, type Obj, type Problems } from './fields.js';

export const FAULT_FILTER_NAME = 'envoy.filters.http.fault';
export const FAULT_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault';

export function decodeFault(o: Obj, path: string, p: Problems): FaultConfig {
  let delay: FaultConfig['delay'];
  let abort: FaultConfig['abort'];
  const d = obj(o, 'delay', path, p);
  if (d) {
    const dPath = join(path, 'delay');
    if (d['header_delay'] !== undefined) p.add(join(dPath, 'header_delay'), 'not supported (use fixed_delay)');
    const delayMs = durationMs(d, 'fixed_delay', dPath, p);
    if (delayMs === undefined && d['header_delay'] === undefined) p.add(join(dPath, 'fixed_delay'), 'is required');
    // Envoy's FractionalPercent default is 0%: a fault without percentage never fires.
    delay = { fraction: fractionalPercent(d, 'percentage', dPath, p) ?? 0, delayMs: delayMs ?? 0 };
  }
  const a = obj(o, 'abort', path, p);
  if (a) {
    const aPath = join(path, 'abort');
    const status = num(a, 'http_status', aPath, p);
    const grpcStatus = num(a, 'grpc_status', aPath, p);
    if (a['header_abort'] !== undefined) p.add(join(aPath, 'header_abort'), 'not supported (use http_status)');
    if (status === undefined && grpcStatus === undefined) p.add(aPath, 'http_status or grpc_status is required');
    if (status !== undefined && (status < 200 || status > 599)) p.add(join(aPath, 'http_status'), `must be in [200, 600), got ${status}`);
    abort = { fraction: fractionalPercent(a, 'percentage', aPath, p) ?? 0, status: status ?? 200, grpcStatus };
  }
  return { delay, abort };
}
