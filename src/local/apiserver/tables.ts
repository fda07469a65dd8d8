// Server-side printing: objects as a meta.k8s.io/v1 Table with the columns kubectl users know.
// Pure: the clock is a parameter.
import type { ResourceType } from '../../k8s/kinds.js';
import type { KubeObject } from '../../k8s/object.js';
import { ageOf, humanDuration } from '../../k8s/age.js';

export interface TableColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  format: string;
  description: string;
  priority: number;
}

type Cell = string | number | boolean | null;

export type IncludeObject = 'None' | 'Metadata' | 'Object';

type Printer =
  | {
      columns: TableColumn[];
      /** Cells after NAME and before AGE for priority-0 columns, then after AGE the wide (priority 1) ones. */
      cells(obj: KubeObject, now: number): { before: Cell[]; wide: Cell[] };
    }
  | {
      /** Kinds whose table does not start with NAME and end with AGE (events): the whole row. */
      columns: TableColumn[];
      row(obj: KubeObject, now: number): Cell[];
    };

function col(name: string, type: TableColumn['type'] = 'string', priority = 0, description = ''): TableColumn {
  return { name, type, format: '', description, priority };
}

const NAME = { ...col('Name', 'string', 0, 'Name must be unique within a namespace.'), format: 'name' };
const AGE = col('Age', 'string', 0, 'CreationTimestamp is a timestamp representing the server time when this object was created.');

// Reading loosely typed fields without casts: each step checks the shape it walks through.
function at(value: unknown, ...path: Array<string | number>): unknown {
  let cur = value;
  for (const key of path) {
    if (typeof key === 'number') {
      if (!Array.isArray(cur)) return undefined;
      cur = cur[key];
    } else {
      if (typeof cur !== 'object' || cur === null || Array.isArray(cur)) return undefined;
      cur = (cur as Record<string, unknown>)[key];
    }
  }
  return cur;
}
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const rec = (v: unknown): Record<string, unknown> => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {});

function labelSelectorString(selector: unknown): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(rec(at(selector, 'matchLabels')))) parts.push(`${k}=${String(v)}`);
  for (const e of arr(at(selector, 'matchExpressions'))) {
    const key = str(at(e, 'key')) ?? '';
    const op = str(at(e, 'operator')) ?? '';
    const values = arr(at(e, 'values')).map(String).join(',');
    if (op === 'In') parts.push(`${key} in (${values})`);
    else if (op === 'NotIn') parts.push(`${key} notin (${values})`);
    else if (op === 'Exists') parts.push(key);
    else if (op === 'DoesNotExist') parts.push(`!${key}`);
  }
  return parts.length ? parts.join(',') : '<none>';
}

function containerColumns(podSpec: unknown): Cell[] {
  const containers = arr(at(podSpec, 'containers'));
  return [containers.map((c) => str(at(c, 'name')) ?? '').join(','), containers.map((c) => str(at(c, 'image')) ?? '').join(',')];
}

function podStatus(pod: KubeObject): string {
  let reason = str(at(pod, 'status', 'reason')) ?? str(at(pod, 'status', 'phase')) ?? 'Unknown';
  let hasRunning = false;
  const statuses = arr(at(pod, 'status', 'containerStatuses'));
  for (let i = statuses.length - 1; i >= 0; i--) {
    const s = statuses[i];
    const waiting = str(at(s, 'state', 'waiting', 'reason'));
    const terminated = at(s, 'state', 'terminated');
    if (waiting) reason = waiting;
    else if (terminated !== undefined) {
      const tr = str(at(terminated, 'reason'));
      const signal = num(at(terminated, 'signal'));
      reason = tr ?? (signal ? `Signal:${signal}` : `ExitCode:${num(at(terminated, 'exitCode')) ?? 0}`);
    } else if (at(s, 'ready') === true && at(s, 'state', 'running') !== undefined) hasRunning = true;
  }
  if (reason === 'Completed' && hasRunning) reason = 'Running';
  if (pod.metadata.deletionTimestamp) reason = 'Terminating';
  return reason;
}

function podRestarts(pod: KubeObject, now: number): string {
  let restarts = 0;
  let last: number | undefined;
  for (const s of arr(at(pod, 'status', 'containerStatuses'))) {
    restarts += num(at(s, 'restartCount')) ?? 0;
    const finished = str(at(s, 'lastState', 'terminated', 'finishedAt'));
    if (finished) {
      const t = Date.parse(finished);
      if (!Number.isNaN(t) && (last === undefined || t > last)) last = t;
    }
  }
  return restarts > 0 && last !== undefined ? `${restarts} (${ageOf(new Date(last).toISOString(), now)} ago)` : String(restarts);
}

const podPrinter: Printer = {
  columns: [
    NAME,
    col('Ready', 'string', 0, 'The aggregate readiness state of this pod for accepting traffic.'),
    col('Status', 'string', 0, 'The aggregate status of the containers in this pod.'),
    col('Restarts', 'string', 0, 'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.'),
    AGE,
    col('IP', 'string', 1, 'IP address allocated to the pod.'),
    col('Node', 'string', 1, 'Name of the Node this pod is assigned to.'),
    col('Nominated Node', 'string', 1, 'Name of the node nominated by the scheduler.'),
    col('Readiness Gates', 'string', 1, 'Pod readiness gates.'),
  ],
  cells(pod, now) {
    const total = arr(at(pod, 'spec', 'containers')).length;
    const ready = arr(at(pod, 'status', 'containerStatuses')).filter((s) => at(s, 'ready') === true).length;
    const gates = arr(at(pod, 'spec', 'readinessGates'));
    return {
      before: [`${ready}/${total}`, podStatus(pod), podRestarts(pod, now)],
      wide: [
        str(at(pod, 'status', 'podIP')) ?? '<none>',
        str(at(pod, 'spec', 'nodeName')) ?? '<none>',
        str(at(pod, 'status', 'nominatedNodeName')) ?? '<none>',
        gates.length ? `0/${gates.length}` : '<none>',
      ],
    };
  },
};

const deploymentPrinter: Printer = {
  columns: [
    NAME,
    col('Ready', 'string', 0, 'Number of the pod with ready state'),
    col('Up-to-date', 'integer', 0, 'Total number of non-terminated pods targeted by this deployment that have the desired template spec.'),
    col('Available', 'integer', 0, 'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.'),
    AGE,
    col('Containers', 'string', 1, 'Names of each container in the template.'),
    col('Images', 'string', 1, 'Images referenced by each container in the template.'),
    col('Selector', 'string', 1, 'Label selector for pods.'),
  ],
  cells(d) {
    return {
      before: [
        `${num(at(d, 'status', 'readyReplicas')) ?? 0}/${num(at(d, 'spec', 'replicas')) ?? 1}`,
        num(at(d, 'status', 'updatedReplicas')) ?? 0,
        num(at(d, 'status', 'availableReplicas')) ?? 0,
      ],
      wide: [...containerColumns(at(d, 'spec', 'template', 'spec')), labelSelectorString(at(d, 'spec', 'selector'))],
    };
  },
};

const replicaSetPrinter: Printer = {
  columns: [
    NAME,
    col('Desired', 'integer', 0, 'Number of desired pods.'),
    col('Current', 'integer', 0, 'Number of actual running pods.'),
    col('Ready', 'integer', 0, 'Number of ready pods.'),
    AGE,
    col('Containers', 'string', 1, 'Names of each container in the template.'),
    col('Images', 'string', 1, 'Images referenced by each container in the template.'),
    col('Selector', 'string', 1, 'Label selector for pods.'),
  ],
  cells(rs) {
    return {
      before: [num(at(rs, 'spec', 'replicas')) ?? 1, num(at(rs, 'status', 'replicas')) ?? 0, num(at(rs, 'status', 'readyReplicas')) ?? 0],
      wide: [...containerColumns(at(rs, 'spec', 'template', 'spec')), labelSelectorString(at(rs, 'spec', 'selector'))],
    };
  },
};

const hasCondition = (obj: KubeObject, type: string): boolean =>
  arr(at(obj, 'status', 'conditions')).some((c) => at(c, 'type') === type && at(c, 'status') === 'True');

/** labels.FormatLabels: `k=v` pairs sorted by key, `<none>` when empty. */
function formatLabels(labels: unknown): string {
  const pairs = Object.entries(rec(labels))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${String(v)}`);
  return pairs.length ? pairs.join(',') : '<none>';
}

// As printJob of kubectl 1.32's server-side printers: STATUS from the terminal conditions first.
function jobStatus(job: KubeObject): string {
  if (hasCondition(job, 'Complete')) return 'Complete';
  if (hasCondition(job, 'Failed')) return 'Failed';
  if (job.metadata.deletionTimestamp) return 'Terminating';
  if (hasCondition(job, 'Suspended')) return 'Suspended';
  if (hasCondition(job, 'FailureTarget')) return 'FailureTarget';
  return 'Running';
}

const jobPrinter: Printer = {
  columns: [
    NAME,
    col('Status', 'string', 0, 'Status of the job.'),
    col('Completions', 'string', 0, 'The number of pods which reached phase Succeeded.'),
    col('Duration', 'string', 0, 'Time required to complete the job.'),
    AGE,
    col('Containers', 'string', 1, 'Names of each container in the template.'),
    col('Images', 'string', 1, 'Images referenced by each container in the template.'),
    col('Selector', 'string', 1, 'A label query over pods that should match the pod count.'),
  ],
  cells(job, now) {
    const succeeded = num(at(job, 'status', 'succeeded')) ?? 0;
    const completions = num(at(job, 'spec', 'completions'));
    const parallelism = num(at(job, 'spec', 'parallelism')) ?? 0;
    const done = completions !== undefined ? `${succeeded}/${completions}` : parallelism > 1 ? `${succeeded}/1 of ${parallelism}` : `${succeeded}/1`;
    const start = Date.parse(str(at(job, 'status', 'startTime')) ?? '');
    const end = Date.parse(str(at(job, 'status', 'completionTime')) ?? '');
    const duration = Number.isNaN(start) ? '' : humanDuration((Number.isNaN(end) ? now : end) - start);
    return {
      before: [jobStatus(job), done, duration],
      wide: [...containerColumns(at(job, 'spec', 'template', 'spec')), labelSelectorString(at(job, 'spec', 'selector'))],
    };
  },
};

const statefulSetPrinter: Printer = {
  columns: [
    NAME,
    col('Ready', 'string', 0, 'Number of the pod with ready state'),
    AGE,
    col('Containers', 'string', 1, 'Names of each container in the template.'),
    col('Images', 'string', 1, 'Images referenced by each container in the template.'),
  ],
  cells(sts) {
    return {
      before: [`${num(at(sts, 'status', 'readyReplicas')) ?? 0}/${num(at(sts, 'spec', 'replicas')) ?? 1}`],
      wide: containerColumns(at(sts, 'spec', 'template', 'spec')),
    };
  },
};

const daemonSetPrinter: Printer = {
  columns: [
    NAME,
    col('Desired', 'integer', 0, 'The total number of nodes that should be running the daemon pod (including nodes correctly running the daemon pod).'),
    col('Current', 'integer', 0, 'The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod.'),
    col('Ready', 'integer', 0, 'The number of nodes that should be running the daemon pod and have one or more of the daemon pod running with a Ready Condition.'),
    col('Up-to-date', 'integer', 0, 'The total number of nodes that are running updated daemon pod'),
    col('Available', 'integer', 0, 'The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available (ready for at least spec.minReadySeconds)'),
    col('Node Selector', 'string', 0, 'NodeSelector is a selector which must be true for the pod to fit on a node.'),
    AGE,
    col('Containers', 'string', 1, 'Names of each container in the template.'),
    col('Images', 'string', 1, 'Images referenced by each container in the template.'),
    col('Selector', 'string', 1, 'A label query over pods that are managed by the daemon set.'),
  ],
  cells(ds) {
    const n = (field: string): number => num(at(ds, 'status', field)) ?? 0;
    return {
      before: [n('desiredNumberScheduled'), n('currentNumberScheduled'), n('numberReady'), n('updatedNumberScheduled'), n('numberAvailable'), formatLabels(at(ds, 'spec', 'template', 'spec', 'nodeSelector'))],
      wide: [...containerColumns(at(ds, 'spec', 'template', 'spec')), labelSelectorString(at(ds, 'spec', 'selector'))],
    };
  },
};

// The controller as `<kind>.<group>/<name>`, lower case, as formatResourceName prints a GroupKind.
const controllerRevisionPrinter: Printer = {
  columns: [NAME, col('Controller', 'string', 0, 'Controller of the object'), col('Revision', 'integer', 0, 'Revision indicates the revision of the state represented by Data.'), AGE],
  cells(rev) {
    const ref = arr(at(rev, 'metadata', 'ownerReferences')).find((r) => at(r, 'controller') === true);
    let controller = '<none>';
    if (ref !== undefined) {
      const apiVersion = str(at(ref, 'apiVersion')) ?? '';
      const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';
      const kind = str(at(ref, 'kind')) ?? '';
      controller = `${(group ? `${kind}.${group}` : kind).toLowerCase()}/${str(at(ref, 'name')) ?? ''}`;
    }
    return { before: [controller, num(at(rev, 'revision')) ?? 0], wide: [] };
  },
};

/** rbac.SubjectsStrings: users, groups and `namespace/name` service accounts, each joined by ", ". */
function subjectColumns(binding: KubeObject): Cell[] {
  const of = (kind: string): string[] =>
    arr(at(binding, 'subjects'))
      .filter((s) => at(s, 'kind') === kind)
      .map((s) => (kind === 'ServiceAccount' ? `${str(at(s, 'namespace')) ?? ''}/${str(at(s, 'name')) ?? ''}` : str(at(s, 'name')) ?? ''));
  return [of('User').join(', '), of('Group').join(', '), of('ServiceAccount').join(', ')];
}

const roleBindingPrinter: Printer = {
  columns: [
    NAME,
    col('Role', 'string', 0, 'RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace.'),
    AGE,
    col('Users', 'string', 1, 'Users in the roleBinding'),
    col('Groups', 'string', 1, 'Groups in the roleBinding'),
    col('ServiceAccounts', 'string', 1, 'ServiceAccounts in the roleBinding'),
  ],
  cells(binding) {
    return { before: [`${str(at(binding, 'roleRef', 'kind')) ?? ''}/${str(at(binding, 'roleRef', 'name')) ?? ''}`], wide: subjectColumns(binding) };
  },
};

function serviceExternalIp(svc: KubeObject): string {
  const type = str(at(svc, 'spec', 'type')) ?? 'ClusterIP';
  const externalIps = arr(at(svc, 'spec', 'externalIPs')).map(String);
  if (type === 'ExternalName') return str(at(svc, 'spec', 'externalName')) ?? '<none>';
  if (type === 'LoadBalancer') {
    const ingress = arr(at(svc, 'status', 'loadBalancer', 'ingress')).map((i) => str(at(i, 'ip')) ?? str(at(i, 'hostname')) ?? '');
    const all = [...ingress.filter((s) => s !== ''), ...externalIps];
    return all.length ? all.join(',') : '<pending>';
  }
  return externalIps.length ? externalIps.join(',') : '<none>';
}

function servicePorts(svc: KubeObject): string {
  const ports = arr(at(svc, 'spec', 'ports')).map((p) => {
    const port = num(at(p, 'port')) ?? 0;
    const nodePort = num(at(p, 'nodePort'));
    const protocol = str(at(p, 'protocol')) ?? 'TCP';
    return nodePort ? `${port}:${nodePort}/${protocol}` : `${port}/${protocol}`;
  });
  return ports.length ? ports.join(',') : '<none>';
}

const servicePrinter: Printer = {
  columns: [
    NAME,
    col('Type', 'string', 0, 'The type of the service.'),
    col('Cluster-IP', 'string', 0, 'The cluster-internal IP address of the service.'),
    col('External-IP', 'string', 0, 'The external IP addresses of the service.'),
    col('Port(s)', 'string', 0, 'The ports exposed by the service.'),
    AGE,
    col('Selector', 'string', 1, 'Route service traffic to pods with label keys and values matching this selector.'),
  ],
  cells(svc) {
    const selector = Object.entries(rec(at(svc, 'spec', 'selector'))).map(([k, v]) => `${k}=${String(v)}`);
    return {
      before: [str(at(svc, 'spec', 'type')) ?? 'ClusterIP', str(at(svc, 'spec', 'clusterIP')) ?? '<none>', serviceExternalIp(svc), servicePorts(svc)],
      wide: [selector.length ? selector.join(',') : '<none>'],
    };
  },
};

const namespacePrinter: Printer = {
  columns: [NAME, col('Status', 'string', 0, 'The status of the namespace'), AGE],
  cells: (ns) => ({ before: [str(at(ns, 'status', 'phase')) ?? 'Active'], wide: [] }),
};

const endpointSlicePrinter: Printer = {
  columns: [
    NAME,
    col('AddressType', 'string', 0, 'The IP protocol family for this EndpointSlice.'),
    col('Ports', 'string', 0, 'The ports exposed by this EndpointSlice.'),
    col('Endpoints', 'string', 0, 'The addresses of the endpoints in this EndpointSlice.'),
    AGE,
  ],
  cells(slice) {
    const ports = arr(at(slice, 'ports')).map((p) => {
      const port = num(at(p, 'port'));
      return port === undefined ? '<unset>' : String(port);
    });
    const addresses = arr(at(slice, 'endpoints')).flatMap((e) => arr(at(e, 'addresses')).map(String));
    const shown = addresses.slice(0, 3).join(',');
    const endpoints = addresses.length === 0 ? '<none>' : addresses.length > 3 ? `${shown} + ${addresses.length - 3} more...` : shown;
    return { before: [str(at(slice, 'addressType')) ?? '', ports.length ? ports.join(',') : '<unset>', endpoints], wide: [] };
  },
};

// The apiserver's printIngress: at most three hosts ("*" when no rule names one), the load-balancer
// addresses sorted (in full: server-side printing is always "wide", so nothing is clipped), 443
// listed when TLS is configured.
function ingressHosts(rules: unknown[]): string {
  const max = 3;
  const hosts: string[] = [];
  let more = false;
  for (const rule of rules) {
    if (hosts.length === max) more = true;
    const host = str(at(rule, 'host')) ?? '';
    if (!more && host) hosts.push(host);
  }
  if (hosts.length === 0) return '*';
  return more ? `${hosts.join(',')} + ${rules.length - max} more...` : hosts.join(',');
}

function ingressAddress(ingress: KubeObject): string {
  const addresses = new Set<string>();
  for (const i of arr(at(ingress, 'status', 'loadBalancer', 'ingress'))) {
    const address = str(at(i, 'ip')) || str(at(i, 'hostname'));
    if (address) addresses.add(address);
  }
  return [...addresses].sort().join(',');
}

const ingressPrinter: Printer = {
  columns: [
    NAME,
    col('Class', 'string', 0, 'The name of the IngressClass resource that should be used for additional configuration'),
    col('Hosts', 'string', 0, 'Hosts that incoming requests are matched against before the ingress rule'),
    col('Address', 'string', 0, 'Address is a list containing ingress points for the load-balancer'),
    col('Ports', 'string', 0, 'Ports of TLS configurations that open'),
    AGE,
  ],
  cells(ingress) {
    return {
      before: [
        str(at(ingress, 'spec', 'ingressClassName')) ?? '<none>',
        ingressHosts(arr(at(ingress, 'spec', 'rules'))),
        ingressAddress(ingress),
        arr(at(ingress, 'spec', 'tls')).length > 0 ? '80, 443' : '80',
      ],
      wide: [],
    };
  },
};

const ingressClassPrinter: Printer = {
  columns: [
    NAME,
    col('Controller', 'string', 0, 'Controller that is responsible for handling this class'),
    col('Parameters', 'string', 0, 'A reference to a resource with additional parameters'),
    AGE,
  ],
  cells(ingressClass) {
    const params = at(ingressClass, 'spec', 'parameters');
    let parameters = '<none>';
    if (params !== undefined && params !== null) {
      const group = str(at(params, 'apiGroup'));
      parameters = `${str(at(params, 'kind')) ?? ''}${group !== undefined ? `.${group}` : ''}/${str(at(params, 'name')) ?? ''}`;
    }
    return { before: [str(at(ingressClass, 'spec', 'controller')) ?? '', parameters], wide: [] };
  },
};

/** Printer columns of a custom resource: values by path, arrays and objects printed as JSON, as the apiserver does. */
function customPrinter(columns: Array<{ name: string; path: string[] }>): Printer {
  return {
    columns: [NAME, ...columns.map((c) => col(c.name)), AGE],
    cells(obj) {
      return {
        before: columns.map((c) => {
          const v = at(obj, ...c.path);
          if (v === undefined || v === null) return null;
          return typeof v === 'object' ? JSON.stringify(v) : typeof v === 'string' ? v : String(v);
        }),
        wide: [],
      };
    },
  };
}

// The apiserver's event columns (printers.go): when it was last seen first, the object as kind/name.
const eventPrinter: Printer = {
  columns: [
    col('Last Seen', 'string', 0, 'Time when last this event was seen'),
    col('Type', 'string', 0, 'Type of this event (Normal, Warning), new types could be added in the future.'),
    col('Reason', 'string', 0, 'This should be a short, machine understandable string that gives the reason for the transition into the object\'s current status.'),
    col('Object', 'string', 0, 'The object this Event is about.'),
    col('Subobject', 'string', 1, 'The subobject this Event is about (the involved object\'s fieldPath).'),
    col('Source', 'string', 1, 'The component reporting this event.'),
    col('Message', 'string', 0, 'A human-readable description of the status of this operation.'),
    col('First Seen', 'string', 1, 'The time at which the event was first recorded.'),
    col('Count', 'string', 1, 'The number of times this event has occurred.'),
    { ...col('Name', 'string', 1, 'Name must be unique within a namespace.'), format: 'name' },
  ],
  row(ev, now) {
    const first = str(at(ev, 'firstTimestamp')) ?? str(at(ev, 'eventTime')) ?? str(at(ev, 'metadata', 'creationTimestamp'));
    const last = str(at(ev, 'lastTimestamp')) ?? first;
    const component = str(at(ev, 'source', 'component')) ?? str(at(ev, 'reportingComponent')) ?? '';
    const host = str(at(ev, 'source', 'host'));
    const kind = (str(at(ev, 'involvedObject', 'kind')) ?? '').toLowerCase();
    return [
      ageOf(last, now),
      str(at(ev, 'type')) ?? '',
      str(at(ev, 'reason')) ?? '',
      `${kind}/${str(at(ev, 'involvedObject', 'name')) ?? ''}`,
      str(at(ev, 'involvedObject', 'fieldPath')) ?? '',
      host ? `${component}, ${host}` : component,
      str(at(ev, 'message')) ?? '',
      ageOf(first, now),
      String(num(at(ev, 'count')) ?? 1),
      ev.metadata.name ?? '',
    ];
  },
};

const nodePrinter: Printer = {
  columns: [
    NAME,
    col('Status', 'string', 0, 'The status of the node'),
    col('Roles', 'string', 0, 'The roles of the node'),
    AGE,
    col('Version', 'string', 0, 'Kubelet Version reported by the node.'),
    col('Internal-IP', 'string', 1, 'List of internal IPs in the node.'),
    col('External-IP', 'string', 1, 'List of external IPs in the node.'),
    col('OS-Image', 'string', 1, 'OS image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).'),
    col('Kernel-Version', 'string', 1, 'Kernel version reported by the node from \'uname -r\' (e.g. 3.16.0-0.bpo.4-amd64).'),
    col('Container-Runtime', 'string', 1, 'Container runtime version reported by the node.'),
  ],
  row(node, now) {
    const ready = arr(at(node, 'status', 'conditions')).find((c) => at(c, 'type') === 'Ready');
    const status = ready === undefined ? 'Unknown' : at(ready, 'status') === 'True' ? 'Ready' : 'NotReady';
    const roles = Object.keys(rec(at(node, 'metadata', 'labels')))
      .filter((k) => k.startsWith('node-role.kubernetes.io/'))
      .map((k) => k.slice('node-role.kubernetes.io/'.length));
    const address = (type: string): string =>
      arr(at(node, 'status', 'addresses')).filter((a) => at(a, 'type') === type).map((a) => str(at(a, 'address')) ?? '').join(',') || '<none>';
    const info = (field: string): string => str(at(node, 'status', 'nodeInfo', field)) ?? '<unknown>';
    return [
      node.metadata.name ?? '',
      status,
      roles.length ? roles.sort().join(',') : '<none>',
      ageOf(node.metadata.creationTimestamp, now),
      info('kubeletVersion'),
      address('InternalIP'),
      address('ExternalIP'),
      info('osImage'),
      info('kernelVersion'),
      info('containerRuntimeVersion'),
    ];
  },
};

// As the apiserver's formatEndpoints: ip:port pairs of ready addresses, the first three, then a count.
const endpointsPrinter: Printer = {
  columns: [NAME, col('Endpoints', 'string', 0, 'Endpoints of the service.'), AGE],
  cells(ep) {
    const pairs: string[] = [];
    for (const subset of arr(at(ep, 'subsets'))) {
      const ports = arr(at(subset, 'ports')).map((p) => num(at(p, 'port')));
      for (const a of arr(at(subset, 'addresses'))) {
        const ip = str(at(a, 'ip')) ?? '';
        if (ports.length === 0) pairs.push(ip);
        for (const port of ports) pairs.push(port === undefined ? ip : `${ip}:${port}`);
      }
    }
    const shown = pairs.slice(0, 3).join(',');
    return { before: [pairs.length === 0 ? '<none>' : pairs.length > 3 ? `${shown} + ${pairs.length - 3} more...` : shown], wide: [] };
  },
};

/** The apiserver's default table (kinds without printers of their own: CRDs, Roles): NAME and CREATED AT. */
const createdAtPrinter: Printer = {
  columns: [NAME, col('Created At', 'date', 0, 'CreationTimestamp is a timestamp representing the server time when this object was created.')],
  row: (obj) => [obj.metadata.name ?? '', str(obj.metadata.creationTimestamp) ?? null],
};

const defaultPrinter: Printer = { columns: [NAME, AGE], cells: () => ({ before: [], wide: [] }) };

function printerFor(t: ResourceType): Printer {
  switch (`${t.group}/${t.kind}`) {
    case '/Pod':
      return podPrinter;
    case 'apps/Deployment':
      return deploymentPrinter;
    case 'apps/ReplicaSet':
      return replicaSetPrinter;
    case 'apps/StatefulSet':
      return statefulSetPrinter;
    case 'apps/DaemonSet':
      return daemonSetPrinter;
    case 'apps/ControllerRevision':
      return controllerRevisionPrinter;
    case 'batch/Job':
      return jobPrinter;
    case 'rbac.authorization.k8s.io/Role':
    case 'rbac.authorization.k8s.io/ClusterRole':
      return createdAtPrinter;
    case 'rbac.authorization.k8s.io/RoleBinding':
    case 'rbac.authorization.k8s.io/ClusterRoleBinding':
      return roleBindingPrinter;
    case '/Service':
      return servicePrinter;
    case '/Namespace':
      return namespacePrinter;
    case 'discovery.k8s.io/EndpointSlice':
      return endpointSlicePrinter;
    case '/Event':
      return eventPrinter;
    case '/Node':
      return nodePrinter;
    case '/Endpoints':
      return endpointsPrinter;
    case 'apiextensions.k8s.io/CustomResourceDefinition':
      return createdAtPrinter;
    case 'networking.k8s.io/Ingress':
      return ingressPrinter;
    case 'networking.k8s.io/IngressClass':
      return ingressClassPrinter;
    case 'networking.istio.io/VirtualService':
      return customPrinter([
        { name: 'Gateways', path: ['spec', 'gateways'] },
        { name: 'Hosts', path: ['spec', 'hosts'] },
      ]);
    case 'networking.istio.io/DestinationRule':
      return customPrinter([{ name: 'Host', path: ['spec', 'host'] }]);
    case 'networking.istio.io/ServiceEntry':
      return customPrinter([
        { name: 'Hosts', path: ['spec', 'hosts'] },
        { name: 'Location', path: ['spec', 'location'] },
        { name: 'Resolution', path: ['spec', 'resolution'] },
      ]);
    case 'networking.gke.io/MultiClusterIngress':
      return customPrinter([{ name: 'VIP', path: ['status', 'VIP'] }]);
    // The Canary CRD's printer columns (src/config/canary/schema.ts).
    case 'rollouts.meshwork.io/Canary':
      return customPrinter([
        { name: 'Host', path: ['spec', 'host'] },
        { name: 'Phase', path: ['status', 'phase'] },
        { name: 'Weight', path: ['status', 'canaryWeight'] },
      ]);
    default:
      return defaultPrinter;
  }
}

function rowObject(obj: KubeObject, include: IncludeObject): object | undefined {
  if (include === 'None') return undefined;
  if (include === 'Object') return obj;
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata };
}

export interface TableOptions {
  now: number;
  includeObject: IncludeObject;
  /** The list's resourceVersion, when the table answers a list. */
  resourceVersion?: string;
  /** Watch events after the first carry no column definitions, as the apiserver sends them. */
  omitColumns?: boolean;
}

export function toTable(t: ResourceType, objects: KubeObject[], opts: TableOptions): object {
  const printer = printerFor(t);
  const rows = objects.map((obj) => {
    const object = rowObject(obj, opts.includeObject);
    let cells: Cell[];
    if ('row' in printer) cells = printer.row(obj, opts.now);
    else {
      const { before, wide } = printer.cells(obj, opts.now);
      cells = [obj.metadata.name ?? '', ...before, ageOf(obj.metadata.creationTimestamp, opts.now), ...wide];
    }
    return {
      cells,
      ...(object ? { object } : {}),
    };
  });
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: opts.resourceVersion ? { resourceVersion: opts.resourceVersion } : {},
    columnDefinitions: opts.omitColumns ? null : printer.columns,
    rows,
  };
}

/** What the client asked for in `includeObject` (default Metadata, as the apiserver). */
export function parseIncludeObject(value: string | null): IncludeObject {
  return value === 'None' || value === 'Object' ? value : 'Metadata';
}
