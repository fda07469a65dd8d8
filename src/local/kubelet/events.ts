// core/v1 Events, as `kubectl describe` lists them: about pods (the kubelet's) and about workloads (the
// controllers'). Repeats of the same event are folded into one object with a count, as the real event
// recorder does.
import { findByKind, type ResourceType } from '../../k8s/kinds.js';
import { StatusError } from '../../k8s/status.js';
import type { ObjectStore } from '../store/store.js';
import type { Clock } from '../../clock.js';
import { rfc3339 } from '../../k8s/time-format.js';

export interface EventSubject {
  namespace: string;
  name: string;
  uid: string;
  /** The involved object's kind and apiVersion: a Pod (v1) unless said otherwise. */
  kind?: string;
  apiVersion?: string;
  /** `spec.containers{name}` for container events. */
  fieldPath?: string;
}

export type EventType = 'Normal' | 'Warning';

function requireType(kind: string): ResourceType {
  const t = findByKind('', kind);
  if (!t) throw new Error(`resource table has no core/v1 ${kind}`);
  return t;
}

export const EVENT_TYPE = requireType('Event');
export const POD_TYPE = requireType('Pod');

/** Aggregation keys remembered at most (oldest forgotten first): a long-lived recorder stays bounded. */
const MAX_REMEMBERED = 10_000;

export class EventRecorder {
  private readonly names = new Map<string, string>();
  private seq = 0;

  constructor(
    private readonly store: ObjectStore,
    private readonly nodeName: string,
    private readonly clock: Clock,
    private readonly log: (line: string) => void,
  ) {}

  record(subject: EventSubject, type: EventType, reason: string, message: string, component = 'kubelet'): void {
    const key = [subject.uid, subject.fieldPath ?? '', type, reason, message, component].join('\u0000');
    const now = rfc3339(this.clock.now());
    try {
      const existingName = this.names.get(key);
      const existing = existingName ? this.store.get(EVENT_TYPE, subject.namespace, existingName) : undefined;
      if (existing) {
        const count = typeof existing.count === 'number' ? existing.count + 1 : 2;
        this.store.update(EVENT_TYPE, { ...existing, count, lastTimestamp: now });
        return;
      }
      // As the real recorder: `<object>.<unix nanoseconds in hex>` (a counter keeps same-millisecond events apart).
      const name = `${subject.name}.${(BigInt(this.clock.now()) * 1_000_000n + BigInt(this.seq++ % 1_000_000)).toString(16)}`;
      this.store.create(EVENT_TYPE, {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name, namespace: subject.namespace },
        involvedObject: {
          apiVersion: subject.apiVersion ?? 'v1',
          kind: subject.kind ?? 'Pod',
          namespace: subject.namespace,
          name: subject.name,
          uid: subject.uid,
          ...(subject.fieldPath ? { fieldPath: subject.fieldPath } : {}),
        },
        reason,
        message,
        type,
        source: component === 'kubelet' ? { component, host: this.nodeName } : { component },
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
        eventTime: null,
        reportingComponent: component,
        reportingInstance: component === 'kubelet' ? this.nodeName : '',
      });
      this.names.set(key, name);
      if (this.names.size > MAX_REMEMBERED) this.names.delete(this.names.keys().next().value!);
    } catch (err) {
      // An event that cannot be written (namespace being deleted, store closed) must not stop the pod.
      const why = err instanceof StatusError ? `${err.reason}: ${err.message}` : (err as Error).message;
      this.log(`event ${reason} for ${(subject.kind ?? 'Pod').toLowerCase()} ${subject.namespace}/${subject.name} not recorded: ${why}`);
    }
  }

  /** Forgets the aggregation keys of a deleted pod. */
  forget(uid: string): void {
    for (const key of [...this.names.keys()]) if (key.startsWith(`${uid}\u0000`)) this.names.delete(key);
  }
}
