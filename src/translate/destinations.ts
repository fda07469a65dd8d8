// Resolving a VirtualService destination (host, subset, port) to an outbound cluster name. As in Istio,
// a destination whose host or subset does not exist still names its cluster (`outbound|5000|v3|...`):
// the route is kept and that share of the traffic fails with 503 (Envoy: no cluster found), so a
// 20% canary to a missing subset stays 20% and is not silently spread over the other destinations.
// Such a destination carries the issue (`dangling`) for the problem log.

import type { Destination } from '../config/istio-types.js';
import { destinationRuleFor, serviceVisible, type ServiceView, type TranslationContext } from './context.js';
import { outboundClusterName, resolveHost } from './names.js';
import type { ProblemCode } from '../config/problems.js';

export interface ResolvedDestination {
  cluster: string;
  /** undefined when the host matches no service visible to the client (the cluster does not exist). */
  service?: ServiceView;
  port: number;
  subset?: string;
  /** Set when `cluster` has no Cluster resource: why (unknown host or subset). */
  dangling?: DestinationIssue;
}

export interface DestinationIssue {
  code: ProblemCode;
  field: string;
  message: string;
}

/**
 * @param defaultService the service the route is being built for: a destination naming it without
 *   a port goes to the port being served (Istio's rule for sidecars).
 * @param listenerPort the port being served; Istio's port for an unknown host named without a port.
 */
export function resolveDestination(
  ctx: TranslationContext,
  destination: Destination,
  configNamespace: string,
  field: string,
  defaultService?: { hostname: string; port: number },
  listenerPort?: number,
): ResolvedDestination | DestinationIssue {
  const hostname = resolveHost(destination.host ?? '', configNamespace, ctx.domainSuffix);
  const service = ctx.services.get(hostname);
  const clientNamespace = ctx.proxy?.namespace;
  if (!service || !serviceVisible(service, clientNamespace)) {
    const hint = destination.host?.includes('.') && !hostname.endsWith(`.svc.${ctx.domainSuffix}`) && !service
      ? ` Config names are not expanded when they contain a dot: write the FQDN <name>.<namespace>.svc.${ctx.domainSuffix}.`
      : ' Check the name, deploy the Service, or add a ServiceEntry for it.';
    const issue: DestinationIssue = {
      code: 'unknown-host',
      field: `${field}.host`,
      message: `destination host "${destination.host}" (resolved to ${hostname}) matches no service in the mesh.${hint}`,
    };
    const port = destination.port?.number ?? listenerPort;
    if (hostname === '' || port === undefined) return issue;
    const subset = destination.subset || undefined;
    return { cluster: outboundClusterName(port, subset, hostname), port, subset, dangling: issue };
  }
  let port: number | undefined = destination.port?.number;
  if (port === undefined) {
    if (service.ports.length === 1) port = service.ports[0].port;
    else if (defaultService && defaultService.hostname === hostname) port = defaultService.port;
    else {
      return {
        code: 'ambiguous-port',
        field: `${field}.port`,
        message: `service ${hostname} has ports ${service.ports.map((p) => p.port).join(', ')}; set destination.port.number to choose one.`,
      };
    }
  } else if (!service.ports.some((p) => p.port === port)) {
    return {
      code: 'unknown-port',
      field: `${field}.port.number`,
      message: `service ${hostname} has no port ${port} (it has ${service.ports.map((p) => p.port).join(', ') || 'none'}); fix destination.port.number.`,
    };
  }
  const subset = destination.subset;
  const cluster = outboundClusterName(port, subset || undefined, hostname);
  if (subset !== undefined && subset !== '') {
    const rule = destinationRuleFor(ctx, hostname, clientNamespace);
    const dangling = (issue: DestinationIssue): ResolvedDestination => ({ cluster, service, port, subset, dangling: issue });
    if (!rule) {
      return dangling({
        code: 'unknown-subset',
        field: `${field}.subset`,
        message: `subset "${subset}" of ${hostname} is not defined: no DestinationRule applies to that host. ` +
          `Apply a DestinationRule with host ${hostname} and subset ${subset}, or remove the subset.`,
      });
    }
    if (!(rule.spec.subsets ?? []).some((s) => s.name === subset)) {
      const known = [...new Set((rule.spec.subsets ?? []).map((s) => s.name))];
      return dangling({
        code: 'unknown-subset',
        field: `${field}.subset`,
        message: `subset "${subset}" is not defined in DestinationRule ${rule.namespace}/${rule.name} ` +
          `(it defines ${known.length ? known.join(', ') : 'no subsets'}); add it to spec.subsets or fix the name.`,
      });
    }
  }
  return { cluster, service, port, subset: subset || undefined };
}

export function isIssue(r: ResolvedDestination | DestinationIssue): r is DestinationIssue {
  return 'code' in r;
}
