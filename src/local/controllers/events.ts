// Events a workload controller records about its object (SuccessfulCreate, Completed, ...), as
// `kubectl describe` lists them under the object.
import type { StoredObject } from '../../k8s/object.js';
import type { EventType } from '../kubelet/events.js';
import type { ControllerContext } from './context.js';

export function recordEvent(ctx: ControllerContext, obj: StoredObject, component: string, type: EventType, reason: string, message: string): void {
  const subject = { namespace: obj.metadata.namespace ?? 'default', name: obj.metadata.name, uid: obj.metadata.uid, kind: obj.kind, apiVersion: obj.apiVersion };
  ctx.events.record(subject, type, reason, message, component);
}
