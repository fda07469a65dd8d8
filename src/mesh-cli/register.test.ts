// The commands as commander parses them: flags, defaults, exit codes, messages.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Command } from 'commander';
import { scenarioDir } from '../translate/testdata/fixture.js';
import { parseBool, proxyConfigArguments, registerMeshCommands } from './register.js';

const dir = mkdtempSync(join(tmpdir(), 'meshwork-register-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function meshwork(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const program = new Command().exitOverride().configureOutput({ writeOut: (s) => void stdout.push(s), writeErr: (s) => void stderr.push(s) });
  registerMeshCommands(program, { out: (l) => void stdout.push(`${l}\n`), err: (l) => void stderr.push(`${l}\n`) });
  process.exitCode = 0;
  let code: number;
  try {
    await program.parseAsync(['node', 'meshwork', ...args]);
    code = Number(process.exitCode ?? 0);
  } catch (err) {
    code = (err as { exitCode?: number }).exitCode ?? 1;
  } finally {
    process.exitCode = 0;
  }
  return { code, stdout: stdout.join(''), stderr: stderr.join('') };
}

describe('meshwork mesh commands', () => {
  it('analyze -f: the scenario is clean (exit 0); a VirtualService to an unknown subset exits 79', async () => {
    const clean = await meshwork('analyze', '-f', join(scenarioDir(), 'helloworld.yaml'), '-f', join(scenarioDir(), 'helloworld-destinationrule.yaml'), '-f', join(scenarioDir(), 'helloworld-virtualservice.yaml'), '-n', 'sample', '--use-kube=false');
    assert.equal(clean.code, 0, clean.stderr);
    assert.match(clean.stdout, /✔ No validation issues found when analyzing namespace: sample/);

    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, [
      'apiVersion: networking.istio.io/v1', 'kind: VirtualService', 'metadata: {name: helloworld, namespace: sample}',
      'spec:', '  hosts: [helloworld]', '  http:', '  - route:', '    - destination: {host: helloworld, subset: v3}', '',
    ].join('\n'));
    const broken = await meshwork('analyze', '-f', join(scenarioDir(), 'helloworld.yaml'), '-f', join(scenarioDir(), 'helloworld-destinationrule.yaml'), '-f', bad, '-n', 'sample', '--use-kube=false');
    assert.equal(broken.code, 79);
    assert.match(broken.stdout, /^Error \[IST0101\] \(VirtualService sample\/helloworld\) .*v3/m);
    assert.match(broken.stderr, /Analyzers found issues/);

    const json = await meshwork('analyze', '-f', bad, '-o', 'json', '--use-kube=false');
    assert.equal(json.code, 79);
    const problems = JSON.parse(json.stdout) as Array<{ messageCode: string; kind: string }>;
    assert.ok(problems.every((p) => p.kind === 'VirtualService' && p.messageCode.startsWith('IST')), json.stdout);
  });

  it('analyze -f: a number where a duration is expected (`timeout: 10`) is a finding in Istio\'s words, not a crash', async () => {
    const file = join(dir, 'timeout.yaml');
    writeFileSync(file, [
      'apiVersion: networking.istio.io/v1', 'kind: VirtualService', 'metadata: {name: helloworld, namespace: sample}',
      'spec:', '  hosts: [helloworld]', '  http:', '  - timeout: 10', '    route:', '    - destination: {host: helloworld, subset: v1}', '',
    ].join('\n'));
    const res = await meshwork('analyze', '-f', join(scenarioDir(), 'helloworld.yaml'), '-f', join(scenarioDir(), 'helloworld-destinationrule.yaml'), '-f', file, '-n', 'sample', '--use-kube=false');
    assert.equal(res.code, 79, res.stderr);
    assert.match(res.stdout, /^Error \[IST0106\] \(VirtualService sample\/helloworld\) Schema validation error: invalid duration 10: .* \(at spec\.http\[0\]\.timeout\)$/m);
    assert.equal(res.stdout.trim().split('\n').length, 1, res.stdout);
    assert.doesNotMatch(res.stderr, /is not a function/);
  });

  it('errors are messages with exit codes, not stack traces', async () => {
    const missing = await meshwork('analyze', '-f', join(dir, 'nope.yaml'));
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^error: ENOENT: no such file or directory/m);

    const noFrom = await meshwork('traffic', '--url', 'http://a/');
    assert.equal(noFrom.code, 1);
    assert.match(noFrom.stderr, /required option '--from <pod>' not specified/);

    const badExpect = await meshwork('traffic', '--from', 'sleep', '--url', 'http://a/', '--expect', 'v1');
    assert.equal(badExpect.code, 1);
    assert.match(badExpect.stderr, /error: --expect: "v1" is not NAME=WEIGHT/);

    const badAlpha = await meshwork('traffic', '--from', 'sleep', '--url', 'http://a/', '--alpha', '5');
    assert.equal(badAlpha.code, 1);
    assert.match(badAlpha.stderr, /option '--alpha <p>' argument '5' is invalid. expected a probability between 0 and 1 \(exclusive\), got "5"/);

    const badType = await meshwork('proxy-config', 'sleep', '--type', 'certificates');
    assert.equal(badType.code, 1);
    assert.match(badType.stderr, /unknown config type "certificates"/);

    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, 'apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\ncurrent-context: ""\n');
    const noContext = await meshwork('proxy-status', '--kubeconfig', kubeconfig, '--context', 'cluster-9');
    assert.equal(noContext.code, 1);
    assert.match(noContext.stderr, /context "cluster-9" not found in the kubeconfig/);
    const none = await meshwork('proxy-status', '--kubeconfig', kubeconfig);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /error: no control plane answered in any context of the kubeconfig \(none\)/);
  });

  it('analyze -f with --use-kube=false: a misspelt field is an error naming the field and the nearest declared one', async () => {
    const file = join(dir, 'typo.yaml');
    writeFileSync(file, [
      'apiVersion: networking.istio.io/v1', 'kind: DestinationRule', 'metadata: {name: helloworld, namespace: sample}',
      'spec:', '  host: helloworld', '  trafficPolicy:', '    loadBalancer: {simpel: ROUND_ROBIN}', '  subsets:', '  - name: v1', '    lables: {version: v1}', '    xyz: 1', '',
    ].join('\n'));
    const res = await meshwork('analyze', '-f', join(scenarioDir(), 'helloworld.yaml'), '-f', file, '-n', 'sample', '--use-kube=false');
    assert.equal(res.code, 79, res.stderr);
    assert.match(res.stdout, /^Error \[IST0106\] \(DestinationRule sample\/helloworld\) Schema validation error: unknown field "simpel" in DestinationRule; did you mean "simple"\? \(at spec\.trafficPolicy\.loadBalancer\.simpel\)$/m);
    assert.match(res.stdout, /unknown field "lables" in DestinationRule; did you mean "labels"\? \(at spec\.subsets\[0\]\.lables\)$/m);
    // Nothing declared is near "xyz": the field is named without a guess.
    assert.match(res.stdout, /unknown field "xyz" in DestinationRule \(at spec\.subsets\[0\]\.xyz\)$/m);
  });

  it('analyze -f without --use-kube=false needs a cluster, and says how to do without', async () => {
    const kubeconfig = join(dir, 'empty-kubeconfig');
    writeFileSync(kubeconfig, 'apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\ncurrent-context: ""\n');
    const res = await meshwork('analyze', '-f', join(scenarioDir(), 'helloworld.yaml'), '--kubeconfig', kubeconfig, '--context', 'cluster-9');
    assert.equal(res.code, 1);
    assert.match(res.stderr, /context "cluster-9" not found[^]*to analyze the files alone, add --use-kube=false/);
    const bad = await meshwork('analyze', '-f', join(scenarioDir(), 'helloworld.yaml'), '--use-kube=maybe');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /--use-kube takes true or false, got "maybe"/);
  });

  it('proxy-config takes istioctl\'s TYPE POD form as well as POD --type TYPE', () => {
    assert.deepEqual(proxyConfigArguments('routes', 'sleep-1.sample', undefined), { type: 'routes', pod: 'sleep-1.sample' });
    assert.deepEqual(proxyConfigArguments('endpoint', 'sleep-1', 'endpoints'), { type: 'endpoints', pod: 'sleep-1' });
    assert.deepEqual(proxyConfigArguments('sleep-1.sample', undefined, 'clusters'), { type: 'clusters', pod: 'sleep-1.sample' });
    assert.deepEqual(proxyConfigArguments('sleep-1.sample', undefined, undefined), { type: 'all', pod: 'sleep-1.sample' });
    assert.throws(() => proxyConfigArguments('rutes', 'sleep-1', undefined), /proxy-config rutes sleep-1: unknown config type "rutes"/);
    assert.throws(() => proxyConfigArguments('routes', 'sleep-1', 'clusters'), /proxy-config routes and --type clusters disagree/);
    assert.equal(parseBool('--x')('false'), false);
    assert.equal(parseBool('--x')('TRUE'), true);
  });

  it('the pc and ps aliases, and -A with -n, are parsed as istioctl\'s', async () => {
    const pc = await meshwork('pc', 'certificates', 'sleep');
    assert.equal(pc.code, 1);
    assert.match(pc.stderr, /unknown config type "certificates"/);
    const ps = await meshwork('ps', 'a', '--context', 'c1', '--context', 'c2');
    assert.equal(ps.code, 1);
    assert.match(ps.stderr, /a pod lives in one cluster: give at most one --context with it/);
    const both = await meshwork('analyze', '-A', '-n', 'sample');
    assert.equal(both.code, 1);
    assert.match(both.stderr, /-A\/--all-namespaces and -n\/--namespace exclude each other/);
  });
});
