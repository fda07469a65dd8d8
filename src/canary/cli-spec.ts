// `meshwork canary start`: the Canary object from a file (-f) or from flags, checked before it is sent so
// a typo is named by its flag, not by a schema path. Pure: no I/O.
import { parseManifests } from '../k8s/client/manifests.js';
import { CANARY_API_VERSION, CANARY_KIND, type Canary, type CanaryMetric } from '../config/canary/types.js';

export interface StartFlags {
  host?: string;
  baseline?: string;
  canary?: string;
  /** `10,25,50` */
  steps?: string;
  /** Go duration, e.g. `30s` */
  interval?: string;
  /** Minimum success rate in percent. */
  successRate?: string;
  /** Maximum p99 in milliseconds. */
  maxP99?: string;
  prometheus?: string;
  threshold?: string;
  minRequests?: string;
  virtualService?: string[];
  cluster?: string[];
}

export const DEFAULT_STEPS = [10, 25, 50];
export const DEFAULT_INTERVAL = '1m';
/** Flagger's usual check when none is given: at least 99 % of the canary's requests succeed. */
export const DEFAULT_SUCCESS_RATE = 99;

const GO_DURATION = /^(\d+(\.\d+)?(ms|s|m|h))+$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function parseSteps(value: string, flag = '--steps'): number[] {
  const parts = value.split(',').map((s) => s.trim());
  const steps = parts.map((s) => {
    const n = Number(s);
    if (s === '' || !Number.isInteger(n) || n < 1 || n > 100) throw new Error(`${flag} "${value}": each step is a whole percent from 1 to 100 (e.g. ${flag} 10,25,50), got "${s}"`);
    return n;
  });
  for (let i = 1; i < steps.length; i++) {
    if (steps[i] <= steps[i - 1]) throw new Error(`${flag} "${value}": steps must increase (${steps[i - 1]} then ${steps[i]})`);
  }
  return steps;
}

export function checkDuration(value: string, flag: string): string {
  if (!GO_DURATION.test(value) || Number.parseFloat(value) === 0) throw new Error(`${flag} "${value}": expected a duration such as 30s, 1m or 1m30s`);
  return value;
}

function number(value: string, flag: string, min: number, max: number, unit: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max) throw new Error(`${flag} "${value}": expected ${unit} from ${min} to ${max}`);
  return n;
}

function integer(value: string, flag: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new Error(`${flag} "${value}": expected a whole number of at least ${min}`);
  return n;
}

function checkName(value: string, what: string): string {
  if (!DNS_LABEL.test(value) || value.length > 63) throw new Error(`${what} "${value}" is not a valid name: lower-case letters, digits and '-', starting and ending with a letter or digit`);
  return value;
}

/** The Canary the flags describe. --host, --baseline and --canary are required; the rest have Flagger's usual defaults. */
export function canaryFromFlags(name: string, namespace: string, flags: StartFlags): Canary {
  checkName(name, 'canary name');
  const missing = (['host', 'baseline', 'canary'] as const).filter((f) => !flags[f]).map((f) => `--${f}`);
  if (missing.length > 0) {
    throw new Error(`missing ${missing.join(', ')}: \`meshwork canary start NAME --host helloworld --baseline v1 --canary v2\` (subsets of the host's DestinationRule), or -f FILE`);
  }
  if (flags.baseline === flags.canary) throw new Error(`--baseline and --canary are the same subset "${flags.baseline}": the canary shifts traffic between two subsets`);
  const metrics: CanaryMetric[] = [];
  if (flags.successRate !== undefined) metrics.push({ name: 'request-success-rate', thresholdRange: { min: number(flags.successRate, '--success-rate', 0, 100, 'a percent') } });
  if (flags.maxP99 !== undefined) metrics.push({ name: 'request-duration', thresholdRange: { max: number(flags.maxP99, '--max-p99', 0.001, 3_600_000, 'milliseconds') } });
  if (metrics.length === 0) metrics.push({ name: 'request-success-rate', thresholdRange: { min: DEFAULT_SUCCESS_RATE } });
  if (flags.prometheus !== undefined && !/^https?:\/\/[^/\s]+/.test(flags.prometheus)) {
    throw new Error(`--prometheus "${flags.prometheus}": expected the Prometheus HTTP API base URL, e.g. http://127.0.0.1:9090`);
  }
  const canary: Canary = {
    apiVersion: CANARY_API_VERSION,
    kind: CANARY_KIND,
    metadata: { name, namespace },
    spec: {
      host: flags.host!,
      ...(flags.virtualService?.length ? { virtualServices: flags.virtualService.map((v) => checkName(v, '--virtual-service')) } : {}),
      ...(flags.cluster?.length ? { clusters: flags.cluster } : {}),
      baseline: { subset: flags.baseline! },
      canary: { subset: flags.canary! },
      analysis: {
        interval: checkDuration(flags.interval ?? DEFAULT_INTERVAL, '--interval'),
        ...(flags.threshold !== undefined ? { threshold: integer(flags.threshold, '--threshold', 1) } : {}),
        stepWeights: flags.steps !== undefined ? parseSteps(flags.steps) : DEFAULT_STEPS,
        ...(flags.minRequests !== undefined ? { minRequests: integer(flags.minRequests, '--min-requests', 0) } : {}),
        metrics,
        ...(flags.prometheus !== undefined ? { prometheus: { address: flags.prometheus } } : {}),
      },
    },
  };
  return canary;
}

/**
 * The Canary of a file (one object of kind Canary), in the namespace kubectl would choose: the file's,
 * else -n's; a file's namespace that differs from an explicit -n is refused with kubectl's message.
 */
export function canaryFromFile(text: string, file: string, namespace: { value: string; explicit: boolean }, name?: string): Canary {
  const objects = parseManifests(text, file);
  if (objects.length !== 1) throw new Error(`${file}: expected one Canary, found ${objects.length} objects`);
  const { object, source } = objects[0];
  if (object.kind !== CANARY_KIND || object.apiVersion !== CANARY_API_VERSION) {
    throw new Error(`${source}: expected kind ${CANARY_KIND} (apiVersion ${CANARY_API_VERSION}), got ${object.kind} (${object.apiVersion})`);
  }
  const canary = object as unknown as Canary;
  if (name !== undefined && canary.metadata.name !== name) throw new Error(`${source}: the file's Canary is "${canary.metadata.name}", not "${name}": drop NAME or make them agree`);
  const ns = canary.metadata.namespace;
  if (ns && namespace.explicit && ns !== namespace.value) {
    throw new Error(`the namespace from the provided object "${ns}" does not match the namespace "${namespace.value}". You must pass '--namespace=${ns}' to perform this operation.`);
  }
  if (!canary.spec || typeof canary.spec !== 'object') throw new Error(`${source}: the Canary has no spec`);
  const { status: _ignored, ...withoutStatus } = canary;
  return { ...withoutStatus, metadata: { ...canary.metadata, namespace: ns || namespace.value } };
}

/** Whether any of the flags that describe a canary was given (they cannot be mixed with -f). */
export function hasSpecFlags(flags: StartFlags): boolean {
  return Object.entries(flags).some(([, v]) => v !== undefined && !(Array.isArray(v) && v.length === 0));
}
