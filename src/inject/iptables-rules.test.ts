import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { captureRules, DEFAULT_CAPTURE, iptablesRestoreInput, istioInitArgs, parseIstioIptablesArgs } from './iptables-rules.js';

// Istio's rule set for the injector's default istio-init args
// (`-p 15001 -z 15006 -u 1337 -m REDIRECT -i '*' -x "" -b '*' -d 15090,15021,15020`), as
// `iptables -t nat -S` prints it in a pod (Istio's docs and its capture golden files).
const ISTIO_DEFAULT_RULES = [
  '-A ISTIO_INBOUND -p tcp --dport 15008 -j RETURN',
  '-A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports 15001',
  '-A ISTIO_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15006',
  '-A PREROUTING -p tcp -j ISTIO_INBOUND',
  '-A ISTIO_INBOUND -p tcp --dport 15090 -j RETURN',
  '-A ISTIO_INBOUND -p tcp --dport 15021 -j RETURN',
  '-A ISTIO_INBOUND -p tcp --dport 15020 -j RETURN',
  '-A ISTIO_INBOUND -p tcp -j ISTIO_IN_REDIRECT',
  '-A OUTPUT -j ISTIO_OUTPUT',
  '-A ISTIO_OUTPUT -s 127.0.0.6/32 -o lo -j RETURN',
  '-A ISTIO_OUTPUT ! -d 127.0.0.1/32 -o lo -p tcp ! --dport 15008 -m owner --uid-owner 1337 -j ISTIO_IN_REDIRECT',
  '-A ISTIO_OUTPUT -o lo -m owner ! --uid-owner 1337 -j RETURN',
  '-A ISTIO_OUTPUT -m owner --uid-owner 1337 -j RETURN',
  '-A ISTIO_OUTPUT ! -d 127.0.0.1/32 -o lo -p tcp ! --dport 15008 -m owner --gid-owner 1337 -j ISTIO_IN_REDIRECT',
  '-A ISTIO_OUTPUT -o lo -m owner ! --gid-owner 1337 -j RETURN',
  '-A ISTIO_OUTPUT -m owner --gid-owner 1337 -j RETURN',
  '-A ISTIO_OUTPUT -d 127.0.0.1/32 -j RETURN',
  '-A ISTIO_OUTPUT -j ISTIO_REDIRECT',
];

const DEFAULT_ARGS = ['-p', '15001', '-z', '15006', '-u', '1337', '-m', 'REDIRECT', '-i', '*', '-x', '', '-b', '*', '-d', '15090,15021,15020'];

describe('istio-iptables rules (REDIRECT, IPv4)', () => {
  it("the injector's default args give Istio's documented rule set, in its order", () => {
    const cfg = parseIstioIptablesArgs(DEFAULT_ARGS);
    assert.deepEqual(cfg, DEFAULT_CAPTURE);
    assert.deepEqual(captureRules(cfg).rules, ISTIO_DEFAULT_RULES);
    assert.deepEqual(captureRules(cfg).chains, ['ISTIO_INBOUND', 'ISTIO_REDIRECT', 'ISTIO_IN_REDIRECT', 'ISTIO_OUTPUT']);
  });

  const cases: Array<{ name: string; args: string[]; has: string[]; hasNot?: string[] }> = [
    {
      name: 'includeOutboundIPRanges: only those CIDRs are captured, after the loopback and exclusion returns',
      args: ['-i', '10.96.0.0/12,10.244.0.0/16', '-x', '10.96.0.10/32'],
      has: ['-A ISTIO_OUTPUT -d 10.96.0.10/32 -j RETURN', '-A ISTIO_OUTPUT -d 10.96.0.0/12 -j ISTIO_REDIRECT', '-A ISTIO_OUTPUT -d 10.244.0.0/16 -j ISTIO_REDIRECT'],
      hasNot: ['-A ISTIO_OUTPUT -j ISTIO_REDIRECT'],
    },
    {
      name: 'includeInboundPorts: only those ports go to 15006, and the exclusions are not read',
      args: ['-b', '5000,9080', '-d', '15090'],
      has: ['-A ISTIO_INBOUND -p tcp --dport 5000 -j ISTIO_IN_REDIRECT', '-A ISTIO_INBOUND -p tcp --dport 9080 -j ISTIO_IN_REDIRECT'],
      hasNot: ['-A ISTIO_INBOUND -p tcp -j ISTIO_IN_REDIRECT', '-A ISTIO_INBOUND -p tcp --dport 15090 -j RETURN'],
    },
    {
      name: 'no inbound ports: no PREROUTING jump at all',
      args: ['-b', ''],
      has: [],
      hasNot: ['-A PREROUTING -p tcp -j ISTIO_INBOUND'],
    },
    {
      name: 'excludeOutboundPorts: TCP and UDP returned before the owner rules',
      args: ['-o', '3306'],
      has: ['-A ISTIO_OUTPUT -p tcp --dport 3306 -j RETURN', '-A ISTIO_OUTPUT -p udp --dport 3306 -j RETURN'],
    },
    {
      name: 'includeOutboundPorts: captured whatever the CIDRs',
      args: ['-i', '', '-q', '8443'],
      has: ['-A ISTIO_OUTPUT -p tcp --dport 8443 -j ISTIO_REDIRECT'],
      hasNot: ['-A ISTIO_OUTPUT -j ISTIO_REDIRECT'],
    },
    {
      name: 'loopback explicitly included: the app over lo is not returned early',
      args: ['-i', '127.0.0.0/8'],
      has: ['-A ISTIO_OUTPUT -d 127.0.0.0/8 -j ISTIO_REDIRECT'],
      hasNot: ['-A ISTIO_OUTPUT -o lo -m owner ! --uid-owner 1337 -j RETURN'],
    },
    {
      name: 'a separate proxy gid',
      args: ['-g', '1338'],
      has: ['-A ISTIO_OUTPUT -m owner --gid-owner 1338 -j RETURN', '-A ISTIO_OUTPUT -m owner --uid-owner 1337 -j RETURN'],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const rules = captureRules(parseIstioIptablesArgs([...DEFAULT_ARGS, ...c.args])).rules;
      for (const rule of c.has) assert.ok(rules.includes(rule), `missing ${rule}\n${rules.join('\n')}`);
      for (const rule of c.hasNot ?? []) assert.ok(!rules.includes(rule), `unexpected ${rule}`);
    });
  }

  it('port exclusions come before the owner rules, exclusions of CIDRs before inclusions', () => {
    const rules = captureRules(parseIstioIptablesArgs([...DEFAULT_ARGS, '-o', '3306', '-x', '10.1.0.0/16', '-i', '10.0.0.0/8'])).rules;
    const at = (r: string): number => rules.indexOf(r);
    assert.ok(at('-A ISTIO_OUTPUT -p tcp --dport 3306 -j RETURN') < at('-A ISTIO_OUTPUT -s 127.0.0.6/32 -o lo -j RETURN'));
    assert.ok(at('-A ISTIO_OUTPUT -d 10.1.0.0/16 -j RETURN') < at('-A ISTIO_OUTPUT -d 10.0.0.0/8 -j ISTIO_REDIRECT'));
  });

  it('refuses what it cannot do, naming the flag', () => {
    assert.throws(() => parseIstioIptablesArgs(['-m', 'TPROXY']), /interception mode "TPROXY" is not supported; use REDIRECT/);
    assert.throws(() => parseIstioIptablesArgs(['-p', '0']), /-p: "0" is not a port/);
    assert.throws(() => parseIstioIptablesArgs(['-i', '10.0.0.0']), /-i: "10.0.0.0" is not a CIDR/);
    assert.throws(() => parseIstioIptablesArgs(['-x', '*']), /"\*" is not allowed/);
    assert.throws(() => parseIstioIptablesArgs(['--redirect-dns']), /unknown flag "--redirect-dns"/);
    assert.throws(() => parseIstioIptablesArgs(['-p']), /-p: a value is required/);
  });

  it('long flags and --flag=value are read as the short ones', () => {
    const cfg = parseIstioIptablesArgs(['--envoy-port=15001', '--inbound-capture-port', '15006', '--proxy-uid=1337', '--istio-service-cidr=*', '--istio-inbound-ports=*', '--istio-local-exclude-ports=15090,15021,15020', '--log_output_level=default:info']);
    assert.deepEqual(cfg, DEFAULT_CAPTURE);
  });

  it('istioInitArgs: the traffic.sidecar.istio.io annotations become the args', () => {
    assert.deepEqual(istioInitArgs({}), DEFAULT_ARGS);
    const args = istioInitArgs({
      'traffic.sidecar.istio.io/includeOutboundIPRanges': '10.0.0.0/8',
      'traffic.sidecar.istio.io/excludeOutboundIPRanges': '10.1.0.0/16',
      'traffic.sidecar.istio.io/includeInboundPorts': '5000',
      'traffic.sidecar.istio.io/excludeInboundPorts': '9000,15020',
      'traffic.sidecar.istio.io/excludeOutboundPorts': '3306',
    });
    assert.deepEqual(args, ['-p', '15001', '-z', '15006', '-u', '1337', '-m', 'REDIRECT', '-i', '10.0.0.0/8', '-x', '10.1.0.0/16', '-b', '5000', '-d', '15090,15021,15020,9000', '-o', '3306']);
  });
});

// The generated input, loaded by the real iptables-restore in a network namespace of the test's own,
// reads back as the same rules: the syntax is iptables', not only ours.
const canRun = process.getuid?.() === 0 && spawnSync('ip', ['-V']).status === 0 && spawnSync('iptables-restore', ['--version']).status === 0;
describe('istio-iptables rules in a real network namespace', { skip: canRun ? false : 'needs root, ip and iptables-restore' }, () => {
  it('iptables-restore accepts them and iptables -S prints them back in order', () => {
    const ns = `mw-iptt-${process.pid}`;
    execFileSync('ip', ['netns', 'add', ns]);
    try {
      execFileSync('ip', ['netns', 'exec', ns, 'iptables-restore', '--noflush'], { input: iptablesRestoreInput(DEFAULT_CAPTURE) });
      const printed = execFileSync('ip', ['netns', 'exec', ns, 'iptables', '-t', 'nat', '-S'], { encoding: 'utf8' })
        .split('\n')
        .filter((l) => l.startsWith('-A '))
        // iptables prints the implicit `-m tcp` match it loaded for --dport.
        .map((l) => l.replace(/ -m tcp/g, '').replace(/ -m udp/g, ''));
      const bySection = (rules: string[], chain: string): string[] => rules.filter((r) => r.startsWith(`-A ${chain} `));
      for (const chain of ['PREROUTING', 'OUTPUT', 'ISTIO_INBOUND', 'ISTIO_IN_REDIRECT', 'ISTIO_OUTPUT', 'ISTIO_REDIRECT']) {
        assert.deepEqual(bySection(printed, chain), bySection(ISTIO_DEFAULT_RULES, chain), chain);
      }
    } finally {
      execFileSync('ip', ['netns', 'del', ns]);
    }
  });
});
