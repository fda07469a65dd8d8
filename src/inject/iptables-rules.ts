// Istio's traffic capture (what `pilot-agent istio-iptables` programs from the istio-init container),
// as a pure function: the capture settings in, `iptables-restore` input out. REDIRECT mode, IPv4 only.
// The rule order is Istio's (tools/istio-iptables/pkg/capture/run.go), each rule written as `iptables -S`
// prints it; the order decides which rule wins, so it is part of the contract the tests hold.

/** The settings of one pod's capture: istio-iptables' flags, already parsed. */
export interface CaptureConfig {
  /** -p: where outbound TCP is redirected (the sidecar's virtualOutbound listener). */
  proxyPort: number;
  /** -z: where inbound TCP is redirected (virtualInbound). */
  inboundCapturePort: number;
  /** Istio's HBONE port, never captured inbound (15008). */
  inboundTunnelPort: number;
  /** -u: the proxy's uid(s): its own connections are never captured. */
  proxyUids: readonly string[];
  /** -g: the proxy's gid(s); Istio takes the uids when absent. */
  proxyGids: readonly string[];
  /** -i: outbound destinations captured: '*' or CIDRs (empty: none). */
  outboundIpRangesInclude: '*' | readonly string[];
  /** -x: outbound destinations never captured. */
  outboundIpRangesExclude: readonly string[];
  /** -b: inbound ports captured: '*' or a list (empty: inbound capture off). */
  inboundPortsInclude: '*' | readonly number[];
  /** -d: inbound ports never captured (only read with `*`). */
  inboundPortsExclude: readonly number[];
  /** -q: outbound ports always captured. */
  outboundPortsInclude: readonly number[];
  /** -o: outbound ports never captured. */
  outboundPortsExclude: readonly number[];
}

export const ISTIO_INBOUND = 'ISTIO_INBOUND';
export const ISTIO_IN_REDIRECT = 'ISTIO_IN_REDIRECT';
export const ISTIO_OUTPUT = 'ISTIO_OUTPUT';
export const ISTIO_REDIRECT = 'ISTIO_REDIRECT';
/** The source address of the inbound passthrough and inbound clusters' connections to the app. */
export const INBOUND_PASSTHROUGH_SOURCE = '127.0.0.6';
const HOST_LOOPBACK = '127.0.0.1/32';

/** istio-init's arguments as Istio's injector writes them by default (`-i '*' -x "" -b '*' -d 15090,15021,15020`). */
export const DEFAULT_CAPTURE: CaptureConfig = {
  proxyPort: 15001,
  inboundCapturePort: 15006,
  inboundTunnelPort: 15008,
  proxyUids: ['1337'],
  proxyGids: ['1337'],
  outboundIpRangesInclude: '*',
  outboundIpRangesExclude: [],
  inboundPortsInclude: '*',
  inboundPortsExclude: [15090, 15021, 15020],
  outboundPortsInclude: [],
  outboundPortsExclude: [],
};

/** One rule as iptables-restore reads it: `-A CHAIN args...`. */
type Rule = string;

/** The nat table's rules for one pod, in Istio's order. */
export function captureRules(cfg: CaptureConfig): { chains: string[]; rules: Rule[] } {
  const excludeV4 = cfg.outboundIpRangesExclude.filter(isIpv4Cidr);
  const includeV4 = cfg.outboundIpRangesInclude === '*' ? '*' : cfg.outboundIpRangesInclude.filter(isIpv4Cidr);
  // Loopback explicitly included: the app's own calls over lo are captured too (Istio's HasLoopBackIP).
  const includesLoopback = includeV4 !== '*' && includeV4.some((cidr) => cidr.startsWith('127.'));
  const rules: Rule[] = [];
  const add = (chain: string, ...args: string[]): void => void rules.push(`-A ${chain} ${args.join(' ')}`);

  add(ISTIO_INBOUND, '-p tcp --dport', String(cfg.inboundTunnelPort), '-j RETURN');
  add(ISTIO_REDIRECT, '-p tcp -j REDIRECT --to-ports', String(cfg.proxyPort));
  add(ISTIO_IN_REDIRECT, '-p tcp -j REDIRECT --to-ports', String(cfg.inboundCapturePort));

  // Inbound: everything but the excluded ports, or only the listed ones.
  const inboundOn = cfg.inboundPortsInclude === '*' || cfg.inboundPortsInclude.length > 0;
  if (inboundOn) {
    add('PREROUTING', '-p tcp -j', ISTIO_INBOUND);
    if (cfg.inboundPortsInclude === '*') {
      for (const port of cfg.inboundPortsExclude) add(ISTIO_INBOUND, '-p tcp --dport', String(port), '-j RETURN');
      add(ISTIO_INBOUND, '-p tcp -j', ISTIO_IN_REDIRECT);
    } else {
      for (const port of cfg.inboundPortsInclude) add(ISTIO_INBOUND, '-p tcp --dport', String(port), '-j', ISTIO_IN_REDIRECT);
    }
  }

  add('OUTPUT', '-j', ISTIO_OUTPUT);
  // Port exclusions come before the rules that send the proxy's calls to itself back inbound.
  for (const port of cfg.outboundPortsExclude) {
    add(ISTIO_OUTPUT, '-p tcp --dport', String(port), '-j RETURN');
    add(ISTIO_OUTPUT, '-p udp --dport', String(port), '-j RETURN');
  }
  // The inbound clusters connect to the app from 127.0.0.6: never captured.
  add(ISTIO_OUTPUT, '-s', `${INBOUND_PASSTHROUGH_SOURCE}/32`, '-o lo -j RETURN');
  const owner = (kind: 'uid' | 'gid', ids: readonly string[]): void => {
    for (const id of ids) {
      // The proxy calling its own pod's IP (the app called its own Service): back through inbound.
      add(ISTIO_OUTPUT, '! -d', HOST_LOOPBACK, '-o lo -p tcp ! --dport', String(cfg.inboundTunnelPort), `-m owner --${kind}-owner`, id, '-j', ISTIO_IN_REDIRECT);
      // The app calling itself over lo (not through a Service) is left alone.
      if (!includesLoopback) add(ISTIO_OUTPUT, `-o lo -m owner ! --${kind}-owner`, id, '-j RETURN');
      // The proxy's own traffic is never sent back to itself.
      add(ISTIO_OUTPUT, `-m owner --${kind}-owner`, id, '-j RETURN');
    }
  };
  owner('uid', cfg.proxyUids);
  owner('gid', cfg.proxyGids);
  // Apps that talk to localhost explicitly (Envoy-aware apps, container to container).
  add(ISTIO_OUTPUT, '-d', HOST_LOOPBACK, '-j RETURN');
  for (const cidr of excludeV4) add(ISTIO_OUTPUT, '-d', cidr, '-j RETURN');
  for (const port of cfg.outboundPortsInclude) add(ISTIO_OUTPUT, '-p tcp --dport', String(port), '-j', ISTIO_REDIRECT);
  if (includeV4 === '*') add(ISTIO_OUTPUT, '-j', ISTIO_REDIRECT);
  else for (const cidr of includeV4) add(ISTIO_OUTPUT, '-d', cidr, '-j', ISTIO_REDIRECT);

  const chains = [ISTIO_INBOUND, ISTIO_REDIRECT, ISTIO_IN_REDIRECT, ISTIO_OUTPUT];
  return { chains, rules };
}

/** The `iptables-restore --noflush` input that creates the chains and appends the rules. */
export function iptablesRestoreInput(cfg: CaptureConfig): string {
  const { chains, rules } = captureRules(cfg);
  return ['*nat', ...chains.map((c) => `-N ${c}`), ...rules, 'COMMIT', ''].join('\n');
}

function isIpv4Cidr(cidr: string): boolean {
  return !cidr.includes(':');
}

// ---------------------------------------------------------------------------------------------------
// istio-iptables' command line (the istio-init container's args)

const IPV4_CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

function parsePort(value: string, flag: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port < 1 || port > 65535) throw new Error(`istio-iptables ${flag}: "${value}" is not a port (1-65535)`);
  return port;
}

function list(value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter(Boolean);
}

function ports(value: string, flag: string): number[] {
  return list(value).map((p) => parsePort(p, flag));
}

function cidrs(value: string, flag: string): string[] {
  return list(value).map((cidr) => {
    const m = IPV4_CIDR.exec(cidr);
    const ok = m && m.slice(1, 5).every((o) => Number(o) <= 255) && Number(m[5]) <= 32;
    if (!ok && !cidr.includes(':')) throw new Error(`istio-iptables ${flag}: "${cidr}" is not a CIDR such as 10.96.0.0/12`);
    return cidr;
  });
}

/**
 * istio-iptables' flags (the short ones Istio's injector writes and their long names) into a
 * CaptureConfig. Unknown flags and modes other than REDIRECT are refused with what to use instead.
 */
export function parseIstioIptablesArgs(args: readonly string[]): CaptureConfig {
  const cfg: { -readonly [K in keyof CaptureConfig]: CaptureConfig[K] } = {
    ...DEFAULT_CAPTURE,
    outboundIpRangesInclude: [],
    inboundPortsInclude: [],
    inboundPortsExclude: [],
  };
  let gidsGiven = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const eq = arg.indexOf('=');
    const flag = eq > 0 && arg.startsWith('--') ? arg.slice(0, eq) : arg;
    const value = (): string => {
      if (eq > 0 && arg.startsWith('--')) return arg.slice(eq + 1);
      const next = args[++i];
      if (next === undefined) throw new Error(`istio-iptables ${flag}: a value is required`);
      return next;
    };
    switch (flag) {
      case '-p': case '--envoy-port': cfg.proxyPort = parsePort(value(), flag); break;
      case '-z': case '--inbound-capture-port': cfg.inboundCapturePort = parsePort(value(), flag); break;
      case '-e': case '--inbound-tunnel-port': cfg.inboundTunnelPort = parsePort(value(), flag); break;
      case '-u': case '--proxy-uid': cfg.proxyUids = list(value()); break;
      case '-g': case '--proxy-gid': cfg.proxyGids = list(value()); gidsGiven = true; break;
      case '-m': case '--istio-inbound-interception-mode': {
        const mode = value();
        if (mode !== 'REDIRECT') throw new Error(`istio-iptables ${flag}: interception mode "${mode}" is not supported; use REDIRECT`);
        break;
      }
      case '-i': case '--istio-service-cidr': {
        const v = value().trim();
        cfg.outboundIpRangesInclude = v === '*' ? '*' : cidrs(v, flag);
        break;
      }
      case '-x': case '--istio-service-exclude-cidr': {
        const v = value().trim();
        if (v === '*') throw new Error(`istio-iptables ${flag}: "*" is not allowed for excluded CIDRs; leave -i empty instead`);
        cfg.outboundIpRangesExclude = cidrs(v, flag);
        break;
      }
      case '-b': case '--istio-inbound-ports': {
        const v = value().trim();
        cfg.inboundPortsInclude = v === '*' ? '*' : ports(v, flag);
        break;
      }
      case '-d': case '--istio-local-exclude-ports': cfg.inboundPortsExclude = ports(value(), flag); break;
      case '-q': case '--istio-local-outbound-ports-include': cfg.outboundPortsInclude = ports(value(), flag); break;
      case '-o': case '--istio-local-outbound-ports-exclude': cfg.outboundPortsExclude = ports(value(), flag); break;
      default:
        if (flag.startsWith('--log_output_level')) { if (eq < 0) value(); break; }
        throw new Error(`istio-iptables: unknown flag "${flag}"; supported: -p -z -e -u -g -m -i -x -b -d -q -o`);
    }
  }
  if (!gidsGiven) cfg.proxyGids = [...cfg.proxyUids];
  return cfg;
}

/** The args Istio's injector gives istio-init, from the pod's traffic.sidecar.istio.io annotations. */
export function istioInitArgs(annotations: Readonly<Record<string, string>>): string[] {
  const get = (name: string): string | undefined => annotations[`traffic.sidecar.istio.io/${name}`]?.trim();
  const excludeInbound = ['15090', '15021', '15020', ...list(get('excludeInboundPorts') ?? '')];
  const args = [
    '-p', '15001', '-z', '15006', '-u', '1337', '-m', 'REDIRECT',
    '-i', get('includeOutboundIPRanges') ?? '*',
    '-x', get('excludeOutboundIPRanges') ?? '',
    '-b', get('includeInboundPorts') ?? '*',
    '-d', [...new Set(excludeInbound)].join(','),
  ];
  const includeOutboundPorts = get('includeOutboundPorts');
  if (includeOutboundPorts) args.push('-q', includeOutboundPorts);
  const excludeOutboundPorts = get('excludeOutboundPorts');
  if (excludeOutboundPorts) args.push('-o', excludeOutboundPorts);
  return args;
}
