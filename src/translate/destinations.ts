// Resolving a VirtualService destination (host, subset, port) to an outbound cluster name, with the
// checks that keep a route from pointing at a cluster that does not exist.

import type { Destination } from '../config/istio-types.js';
import { destinationRuleFor, serviceVisible, type ServiceView, type TranslationContext } from './context.js';
import { outboundClusterName, resolveHost } from './names.js';
import type { ProblemCode } from './problems.js';

export interface ResolvedDestination {
  cluster: string;
  service: ServiceView;
  port: number;
  subset?: string;
}

export interface DestinationIssue {
  code: ProblemCode;
  field: string;
  message: string;
}

/**
 * @param defaultService the service the route is being built for: a destination naming it without
 *   a port goes to the port being served (Istio's rule for sidecars).
 */
export function resolveDestination(
  ctx: TranslationContext,
  destination: Destination,
  configNamespace: string,
  field: string,
  defaultService?: { hostname: string; port: number },
): ResolvedDestination | DestinationIssue {
  const hostname = resolveHost(destination.host ?? '', configNamespace, ctx.domainSuffix);
  const service = ctx.services.get(hostname);
  const clientNamespace = ctx.proxy?.namespace;
  if (!service || !serviceVisible(service, clientNamespace)) {
    const hint = destination.host?.includes('.') && !hostname.endsWith(`.svc.${ctx.domainSuffix}`) && !service
      ? ` Config names are not expanded when they contain a dot: write the FQDN <name>.<namespace>.svc.${ctx.domainSuffix}.`
      : ' Check the name, deploy the Service, or add a ServiceEntry for it.';
    return {
      code: 'unknown-host',
      field: `${field}.host`,
      message: `destination host "${destination.host}" (resolved to ${hostname}) matches no service in the mesh.${hint}`,
    };
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
  if (subset !== undefined && subset !== '') {
    const rule = destinationRuleFor(ctx, hostname, clientNamespace);
    if (!rule) {
      return {
        code: 'unknown-subset',
        field: `${field}.subset`,
        message: `subset "${subset}" of ${hostname} is not defined: no DestinationRule applies to that host. ` +
          `Apply a DestinationRule with host ${hostname} and subset ${subset}, or remove the subset.`,
      };
    }
    if (!(rule.spec.subsets ?? []).some((s) => s.name === subset)) {
      const known = (rule.spec.subsets ?? []).map((s) => s.name);
      return {
        code: 'unknown-subset',
        field: `${field}.subset`,
        message: `subset "${subset}" is not defined in DestinationRule ${rule.namespace}/${rule.name} ` +
          `(it defines ${known.length ? known.join(', ') : 'no subsets'}); add it to spec.subsets or fix the name.`,
      };
    }
  }
  return { cluster: outboundClusterName(port, subset || undefined, hostname), service, port, subset: subset || undefined };
}

export function isIssue(r: ResolvedDestination | DestinationIssue): r is DestinationIssue {
  return 'code' in r;
}
