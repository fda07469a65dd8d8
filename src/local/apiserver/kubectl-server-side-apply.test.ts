// The real kubectl's server-side apply against the server: creation, conflicts between managers as
// kubectl prints them, --force-conflicts, shared ownership, pruning of dropped fields, the move from
// client-side apply, dry runs, strict validation, Istio kinds, and the managedFields every other write
// leaves (create, scale, edit, label, patch).
import { scenarioDir } from '../../../test/helpers/paths.js';
import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import type { NamespacedKubectl, TestCluster } from './test-support.js';
import { startSampleCluster } from './test-support.js';

const SCENARIO = scenarioDir();

interface Entry {
  manager: string;
  operation: string;
  apiVersion: string;
  time?: string;
  fieldsType: string;
  fieldsV1: Record<string, unknown>;
  subresource?: string;
}

function deployment(name: string, opts: { replicas?: number; image?: string; env?: boolean; labels?: Record<string, string> } = {}): string {
  const labels = { app: name, ...opts.labels };
  return [
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata:',
    `  name: ${name}`,
    `  labels: ${JSON.stringify(labels)}`,
    'spec:',
    ...(opts.replicas === undefined ? [] : [`  replicas: ${opts.replicas}`]),
    `  selector: {matchLabels: {app: ${name}}}`,
    '  template:',
    `    metadata: {labels: {app: ${name}}}`,
    '    spec:',
    '      containers:',
    `      - name: web`,
    `        image: ${opts.image ?? 'nginx:1'}`,
    '        ports: [{containerPort: 80}]',
    ...(opts.env ? ['        env: [{name: MODE, value: fast}]'] : []),
    '',
  ].join('\n');
}

describe('kubectl apply --server-side', () => {
  let c: TestCluster;
  let k: NamespacedKubectl;

  before(async () => {
    ({ cluster: c, k } = await startSampleCluster());
  });
  after(() => c.close());

  async function managedFields(resource: string): Promise<Entry[]> {
    const r = await k(['get', resource, '-o', 'json', '--show-managed-fields']);
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as { metadata: { managedFields?: Entry[] } }).metadata.managedFields ?? [];
  }
  const byManager = (entries: Entry[]) => Object.fromEntries(entries.map((e) => [`${e.manager}/${e.operation}${e.subresource ? `/${e.subresource}` : ''}`, e.fieldsV1]));
  const get = async (resource: string, path: string) => (await k(['get', resource, '-o', `jsonpath=${path}`])).stdout;

  test('creates the object; its only manager is kubectl (Apply), in the real fieldsV1 format', async () => {
    const r = await k(['apply', '--server-side', '-f', '-'], deployment('web', { replicas: 2, env: true }));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'deployment.apps/web serverside-applied\n');
    const entries = await managedFields('deploy/web');
    assert.equal(entries.length, 1);
    const [entry] = entries;
    assert.equal(entry!.manager, 'kubectl');
    assert.equal(entry!.operation, 'Apply');
    assert.equal(entry!.apiVersion, 'apps/v1');
    assert.equal(entry!.fieldsType, 'FieldsV1');
    assert.match(entry!.time ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.deepEqual(entry!.fieldsV1, {
      'f:metadata': { 'f:labels': { 'f:app': {} } },
      'f:spec': {
        'f:replicas': {},
        'f:selector': {},
        'f:template': {
          'f:metadata': { 'f:labels': { 'f:app': {} } },
          'f:spec': {
            'f:containers': {
              'k:{"name":"web"}': {
                '.': {},
                'f:env': { 'k:{"name":"MODE"}': { '.': {}, 'f:name': {}, 'f:value': {} } },
                'f:image': {},
                'f:name': {},
                'f:ports': { 'k:{"containerPort":80,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} } },
              },
            },
          },
        },
      },
    });
  });

  test('get -o yaml hides managedFields unless --show-managed-fields (kubectl strips them client-side)', async () => {
    const plain = parse((await k(['get', 'deploy', 'web', '-o', 'yaml'])).stdout);
    assert.equal(plain.metadata.managedFields, undefined);
    const shown = parse((await k(['get', 'deploy', 'web', '-o', 'yaml', '--show-managed-fields'])).stdout);
    assert.equal(shown.metadata.managedFields[0].manager, 'kubectl');
  });

  test('applying the same file again changes nothing, not even the resourceVersion', async () => {
    const rv = await get('deploy/web', '{.metadata.resourceVersion}');
    const r = await k(['apply', '--server-side', '-f', '-'], deployment('web', { replicas: 2, env: true }));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await get('deploy/web', '{.metadata.resourceVersion}'), rv);
  });

  test('a field dropped from the applied file is removed from the object', async () => {
    const r = await k(['apply', '--server-side', '-f', '-'], deployment('web', { replicas: 2 }));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await get('deploy/web', '{.spec.template.spec.containers[0].env}'), '');
    assert.equal(await get('deploy/web', '{.spec.template.spec.containers[0].image}'), 'nginx:1');
    const fields = byManager(await managedFields('deploy/web'))['kubectl/Apply'] as { 'f:spec': { 'f:template': { 'f:spec': { 'f:containers': Record<string, Record<string, unknown>> } } } };
    assert.equal(fields['f:spec']['f:template']['f:spec']['f:containers']['k:{"name":"web"}']!['f:env'], undefined);
  });

  test('a second manager changing replicas gets the conflict, as kubectl prints it', async () => {
    const r = await k(['apply', '--server-side', '--field-manager=other', '-f', '-'], deployment('web', { replicas: 5 }));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: Apply failed with 1 conflict: conflict with "kubectl": \.spec\.replicas\nPlease review the fields above--they currently have other managers/);
    assert.match(r.stderr, /--force-conflicts/);
    assert.equal(await get('deploy/web', '{.spec.replicas}'), '2');
  });

  test('the conflict is a 409 with one FieldManagerConflict cause per field', async () => {
    const body = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: { replicas: 7, paused: true, template: { spec: { containers: [{ name: 'web', image: 'nginx:2' }] } } } };
    const res = await c.request('PATCH', '/apis/apps/v1/namespaces/sample/deployments/web?fieldManager=other', { body, contentType: 'application/apply-patch+yaml' });
    assert.equal(res.status, 409);
    const status = res.json() as { reason: string; message: string; details: { causes: Array<{ reason: string; message: string; field: string }> } };
    assert.equal(status.reason, 'Conflict');
    assert.equal(status.message, 'Apply failed with 2 conflicts: conflicts with "kubectl":\n- .spec.replicas\n- .spec.template.spec.containers[name="web"].image');
    assert.deepEqual(status.details.causes, [
      { reason: 'FieldManagerConflict', message: 'conflict with "kubectl"', field: '.spec.replicas' },
      { reason: 'FieldManagerConflict', message: 'conflict with "kubectl"', field: '.spec.template.spec.containers[name="web"].image' },
    ]);
  });

  test('the same value is shared ownership: no conflict, both own it', async () => {
    const shared = 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: 2}\n';
    const r = await k(['apply', '--server-side', '--field-manager=sharer', '-f', '-'], shared);
    assert.equal(r.code, 0, r.stderr);
    const owners = byManager(await managedFields('deploy/web'));
    assert.deepEqual(owners['sharer/Apply'], { 'f:spec': { 'f:replicas': {} } });
    assert.deepEqual((owners['kubectl/Apply'] as { 'f:spec': Record<string, unknown> })['f:spec']['f:replicas'], {});
    // kubectl no longer sets replicas: the field stays, for sharer still owns it.
    const dropped = await k(['apply', '--server-side', '-f', '-'], deployment('web'));
    assert.equal(dropped.code, 0, dropped.stderr);
    assert.equal(await get('deploy/web', '{.spec.replicas}'), '2');
  });

  test('--force-conflicts takes the field over', async () => {
    const r = await k(['apply', '--server-side', '--field-manager=other', '--force-conflicts', '-f', '-'], deployment('web', { replicas: 5 }));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await get('deploy/web', '{.spec.replicas}'), '5');
    const owners = byManager(await managedFields('deploy/web'));
    assert.deepEqual((owners['other/Apply'] as { 'f:spec': Record<string, unknown> })['f:spec']['f:replicas'], {});
    assert.equal(owners['sharer/Apply'], undefined, 'sharer owned only replicas, which other took');
  });

  test('kubectl scale, edit, label and patch are recorded as Updates under their managers', async () => {
    assert.equal((await k(['scale', 'deploy', 'web', '--replicas=3'])).code, 0);
    const editor = join(c.dir, 'editor.sh');
    writeFileSync(editor, "#!/bin/sh\nsed -i 's/image: nginx:1/image: nginx:edited/' \"$1\"\n");
    chmodSync(editor, 0o755);
    const edit = await c.kubectl(['-n', 'sample', 'edit', 'deploy', 'web'], { env: { KUBE_EDITOR: editor } });
    assert.equal(edit.code, 0, edit.stderr);
    assert.equal((await k(['label', 'deploy', 'web', 'tier=front'])).code, 0);
    assert.equal((await k(['patch', 'deploy', 'web', '--type=merge', '-p', '{"spec":{"minReadySeconds":4}}'])).code, 0);
    const owners = byManager(await managedFields('deploy/web'));
    assert.deepEqual(owners['kubectl/Update/scale'], { 'f:spec': { 'f:replicas': {} } });
    assert.deepEqual(owners['kubectl-edit/Update'], { 'f:spec': { 'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"web"}': { 'f:image': {} } } } } } });
    assert.deepEqual(owners['kubectl-label/Update'], { 'f:metadata': { 'f:labels': { 'f:tier': {} } } });
    assert.deepEqual(owners['kubectl-patch/Update'], { 'f:spec': { 'f:minReadySeconds': {} } });
    // The image now belongs to kubectl-edit: kubectl's next apply of another image conflicts with it.
    const r = await k(['apply', '--server-side', '-f', '-'], deployment('web', { image: 'nginx:3' }));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /conflict with "kubectl-edit" using apps\/v1: \.spec\.template\.spec\.containers\[name="web"\]\.image/);
  });

  test('kubectl create records kubectl-create, defaults included, with "." on maps it created', async () => {
    assert.equal((await k(['create', 'configmap', 'settings', '--from-literal=a=1'])).code, 0);
    assert.deepEqual(await managedFields('configmap/settings').then((e) => e.map((x) => [x.manager, x.operation, x.fieldsV1])), [['kubectl-create', 'Update', { 'f:data': { '.': {}, 'f:a': {} } }]]);
    const made = await k(['create', '-f', '-'], deployment('made'));
    assert.equal(made.code, 0, made.stderr);
    const [entry] = await managedFields('deploy/made');
    const spec = entry!.fieldsV1['f:spec'] as Record<string, unknown>;
    assert.equal(entry!.manager, 'kubectl-create');
    assert.deepEqual(spec['f:strategy'], { 'f:rollingUpdate': { '.': {}, 'f:maxSurge': {}, 'f:maxUnavailable': {} }, 'f:type': {} });
    assert.deepEqual(spec['f:replicas'], {});
  });

  test('after a client-side apply, --server-side takes over kubectl-client-side-apply\'s fields without conflict and drops what the file dropped', async () => {
    const csa = await k(['apply', '-f', '-'], deployment('legacy', { replicas: 1, env: true }));
    assert.equal(csa.code, 0, csa.stderr);
    assert.deepEqual((await managedFields('deploy/legacy')).map((e) => `${e.manager}/${e.operation}`), ['kubectl-client-side-apply/Update']);

    const other = await k(['apply', '--server-side', '--field-manager=other', '-f', '-'], deployment('legacy', { replicas: 4, env: true }));
    assert.equal(other.code, 1);
    assert.match(other.stderr, /Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps\/v1: \.spec\.replicas/);

    const ssa = await k(['apply', '--server-side', '-f', '-'], deployment('legacy', { replicas: 4 }));
    assert.equal(ssa.code, 0, ssa.stderr);
    assert.equal(await get('deploy/legacy', '{.spec.replicas}'), '4');
    assert.equal(await get('deploy/legacy', '{.spec.template.spec.containers[0].env}'), '', 'the env var the file no longer has is gone');
    const entries = await managedFields('deploy/legacy');
    assert.deepEqual(entries.map((e) => `${e.manager}/${e.operation}`).sort(), ['kubectl-last-applied/Apply', 'kubectl/Apply']);
    const lastApplied = JSON.parse(await get('deploy/legacy', '{.metadata.annotations.kubectl\\.kubernetes\\.io/last-applied-configuration}'));
    assert.equal(lastApplied.spec.replicas, 4, 'the server keeps the last-applied annotation in step with kubectl\'s applies');
  });

  test('--dry-run=server shows the result and stores nothing', async () => {
    const create = await k(['apply', '--server-side', '--dry-run=server', '-f', '-'], deployment('ghost', { replicas: 1 }));
    assert.equal(create.code, 0, create.stderr);
    assert.equal(create.stdout, 'deployment.apps/ghost serverside-applied (server dry run)\n');
    assert.match((await k(['get', 'deploy', 'ghost'])).stderr, /not found/);
    const rv = await get('deploy/legacy', '{.metadata.resourceVersion}');
    const out = await k(['apply', '--server-side', '--dry-run=server', '-o', 'jsonpath={.spec.replicas}', '-f', '-'], deployment('legacy', { replicas: 9 }));
    assert.equal(out.stdout, '9');
    assert.equal(await get('deploy/legacy', '{.spec.replicas} {.metadata.resourceVersion}'), `4 ${rv}`);
  });

  test('strict validation: unknown fields and repeated keys in the applied file are refused', async () => {
    const unknown = await k(['apply', '--server-side', '-f', '-'], deployment('strict').replace('  selector:', '  bogus: 1\n  selector:'));
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /failed to create typed patch object \(sample\/strict; apps\/v1, Kind=Deployment\): \.spec\.bogus: field not declared in schema/);
    const repeated = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: twice}\ndata:\n  a: "1"\n  a: "2"\n';
    const r = await c.request('PATCH', '/api/v1/namespaces/sample/configmaps/twice?fieldManager=x&fieldValidation=Strict', { body: repeated, contentType: 'application/apply-patch+yaml' });
    assert.equal(r.status, 400);
    assert.equal((r.json() as { message: string }).message, 'error strict decoding patch: yaml: unmarshal errors:\n  line 6: key "a" already set in map');
    const warned = await c.request('PATCH', '/api/v1/namespaces/sample/configmaps/twice?fieldManager=x&fieldValidation=Warn', { body: repeated, contentType: 'application/apply-patch+yaml' });
    assert.equal(warned.status, 201);
    assert.match(String(warned.headers.warning), /line 6: key \\"a\\" already set in map/);
  });

  test('managedFields in a write: [{}] resets them, a bad entry is a 422 naming it', async () => {
    assert.equal((await k(['create', 'configmap', 'reset-me', '--from-literal=a=1'])).code, 0);
    const path = '/api/v1/namespaces/sample/configmaps/reset-me';
    const bad = await c.request('PATCH', path, { body: { metadata: { managedFields: [{ manager: 'x', operation: 'Patch', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: {} }] } }, contentType: 'application/merge-patch+json' });
    assert.equal(bad.status, 422);
    assert.equal((bad.json() as { message: string }).message, 'ConfigMap "reset-me" is invalid: metadata.managedFields[0].operation: Unsupported value: "Patch": supported values: "Apply", "Update"');
    const reset = await c.request('PATCH', path, { body: { metadata: { managedFields: [{}] } }, contentType: 'application/merge-patch+json' });
    assert.equal(reset.status, 200);
    assert.equal((reset.json() as { metadata: { managedFields?: unknown } }).metadata.managedFields, undefined);
    // An object ownership cannot be computed on (a container without its key) is validation's to refuse: 422, not 500.
    const unnamed = await c.request('PATCH', '/apis/apps/v1/namespaces/sample/deployments/web', { body: [{ op: 'remove', path: '/spec/template/spec/containers/0/name' }], contentType: 'application/json-patch+json' });
    assert.equal(unnamed.status, 422, unnamed.text);
  });

  test('apply to a subresource is refused with a clear error', async () => {
    const r = await k(['apply', '--server-side', '--subresource=status', '-f', '-'], deployment('web'));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /server-side apply to the status subresource is not supported by this API server/);
  });

  test('Istio kinds: the scenario\'s files apply server-side; their lists are atomic, owned whole', async () => {
    const files = ['helloworld-virtualservice.yaml', 'helloworld-destinationrule.yaml', 'helloworld-gateway.yaml'];
    const r = await k(['apply', '--server-side', ...files.flatMap((f) => ['-f', join(SCENARIO, f)])]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /virtualservice.networking.istio.io\/helloworld serverside-applied/);
    assert.match(r.stdout, /gateway.networking.istio.io\/helloworld-gateway serverside-applied/);
    const [vs] = await managedFields('vs/helloworld');
    assert.deepEqual(vs!.fieldsV1, { 'f:spec': { 'f:hosts': {}, 'f:http': {} } });
    const [dr] = await managedFields('dr/helloworld');
    assert.deepEqual(dr!.fieldsV1, { 'f:spec': { 'f:host': {}, 'f:subsets': {} } });

    const canary = await k(['apply', '--server-side', '--field-manager=rollout', '-f', join(SCENARIO, 'helloworld-gateway-canary.yaml')]);
    assert.equal(canary.code, 1);
    assert.match(canary.stderr, /conflict with "kubectl": \.spec\.http/);
    const forced = await k(['apply', '--server-side', '--field-manager=rollout', '--force-conflicts', '-f', join(SCENARIO, 'helloworld-gateway-canary.yaml')]);
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(await get('vs/helloworld-gateway', '{.spec.http[0].route[*].weight}'), '20 80');
  });
});
