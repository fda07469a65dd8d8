// Findings about config the control plane made from Kubernetes Ingresses are findings about those
// Ingresses: nobody applied the derived Gateway or VirtualService, so a finding naming it could not
// be acted on. Each is moved to the Ingress and field its part came from (a route to the path it was
// made of), the derived object named in the message. Pure.
import type { IstioObject, MeshSnapshot } from '../registry/model.js';
import { ProblemLog, type Problem } from '../config/problems.js';

const INDEXED = /^spec\.(http|servers)\[(\d+)\](.*)$/;

/** Where in an Ingress path entry a finding about the route made of it belongs. */
function pathField(entry: string, rest: string): string {
  if (/destination\.host$/.test(rest)) return `${entry}.backend.service.name`;
  if (/destination\.port/.test(rest)) return `${entry}.backend.service.port`;
  if (rest.startsWith('.match')) return `${entry}.path`;
  return rest.startsWith('.route') ? `${entry}.backend` : entry;
}

function attribute(problem: Problem, derived: IstioObject<unknown>): Problem {
  const from = derived.derivedFrom;
  if (!from) return problem;
  const indexed = INDEXED.exec(problem.field);
  const part = indexed ? from.parts[Number(indexed[2])] : undefined;
  const where = part ?? { ...from.source, field: 'spec' };
  const field = part && indexed?.[1] === 'http' ? pathField(part.field, indexed[3] ?? '') : where.field;
  return {
    ...problem,
    kind: from.kind,
    namespace: where.namespace,
    name: where.name,
    field,
    message: `${problem.message} (in ${problem.kind} ${problem.namespace}/${problem.name}, made from this Ingress)`,
  };
}

/** The problems, those about derived config moved to the Ingresses they were made from; sorted, once each. */
export function attributeDerivedProblems(problems: readonly Problem[], snapshot: Pick<MeshSnapshot, 'virtualServices' | 'gateways'>): Problem[] {
  const derived = new Map<string, IstioObject<unknown>>();
  for (const vs of snapshot.virtualServices) if (vs.derivedFrom) derived.set(`VirtualService|${vs.namespace}|${vs.name}`, vs);
  for (const gw of snapshot.gateways) if (gw.derivedFrom) derived.set(`Gateway|${gw.namespace}|${gw.name}`, gw);
  if (derived.size === 0) return [...problems];
  const log = new ProblemLog();
  for (const p of problems) {
    const source = derived.get(`${p.kind}|${p.namespace}|${p.name}`);
    log.add(source ? attribute(p, source) : p);
  }
  return log.list();
}
