import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SnapshotCache } from './cache.js';
import { TYPE_URLS } from './protos.js';
import { prepareSnapshot, SnapshotError, type XdsSnapshot } from './snapshot.js';
import { echoSnapshot, ECHO_ROUTE } from './testdata/echo-snapshot.js';

const backends = [
  { name: 'a', port: 1001, weight: 80 },
  { name: 'b', port: 1002, weight: 20 },
];

/** The problems prepareSnapshot refuses a snapshot for ([] when it accepts it). */
function consistent(snapshot: XdsSnapshot): string[] {
  try {
    prepareSnapshot('n', snapshot);
    return [];
  } catch (err) {
    if (err instanceof SnapshotError) return err.problems;
    throw err;
  }
}

test('a complete snapshot is consistent', () => {
  assert.deepEqual(consistent(echoSnapshot({ backends })), []);
});

test('missing route config, missing CLA and mismatched names are reported', () => {
  const snap = echoSnapshot({ backends });
  snap.resources[TYPE_URLS.route]?.delete(ECHO_ROUTE);
  snap.resources[TYPE_URLS.endpoint]?.delete('b-cla');
  snap.resources[TYPE_URLS.cluster]?.set('plain', { name: 'plain', type: 'EDS' });
  snap.resources[TYPE_URLS.cluster]?.set('static', { name: 'static', type: 'STATIC' });
  snap.resources[TYPE_URLS.endpoint]?.set('x', { cluster_name: 'y' });
  const problems = consistent(snap);
  assert.deepEqual(problems.sort(), [
    "EDS resource keyed 'x' has cluster_name 'y'",
    "cluster 'b': ClusterLoadAssignment 'b-cla' (EDS) is not in the snapshot",
    "cluster 'plain': ClusterLoadAssignment 'plain' (EDS) is not in the snapshot",
    "listener 'echo.test.svc.cluster.local:7070' api_listener: RouteConfiguration 'echo-route' (rds.route_config_name) is not in the snapshot",
  ]);
});

test('a route naming a cluster with no Cluster resource is consistent (Envoy and gRPC accept it: validate_clusters is false)', () => {
  // The translator keeps a route whose destination subset does not exist, as Istio does; its share fails with 503.
  const snap = echoSnapshot({ backends });
  snap.resources[TYPE_URLS.cluster]?.delete('b');
  snap.resources[TYPE_URLS.endpoint]?.delete('b-cla');
  assert.ok(JSON.stringify(snap.resources[TYPE_URLS.route]?.get(ECHO_ROUTE)).includes('"b"'), 'the route still names b');
  assert.deepEqual(consistent(snap), []);
});

test('filter-chain HCMs are checked too', () => {
  const snap: XdsSnapshot = {
    resources: {
      [TYPE_URLS.listener]: new Map([
        [
          'l',
          {
            name: 'l',
            filter_chains: [
              {
                filters: [
                  {
                    name: 'hcm',
                    typed_config: {
                      '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
                      rds: { route_config_name: 'nope' },
                    },
                  },
                ],
              },
            ],
          },
        ],
      ]),
    },
  };
  assert.match(consistent(snap).join(), /filter_chains\[0\]\.filters\[0\]: RouteConfiguration 'nope'/);
});

test('versions follow content: same content same version, one type changed changes only it', () => {
  const v1 = prepareSnapshot('n', echoSnapshot({ backends }));
  const v2 = prepareSnapshot('n', echoSnapshot({ backends }));
  const v3 = prepareSnapshot('n', echoSnapshot({ backends: [backends[0] as (typeof backends)[0], { name: 'b', port: 2002, weight: 20 }] }));
  for (const t of Object.values(TYPE_URLS)) assert.equal(v1.types.get(t)?.version, v2.types.get(t)?.version);
  assert.notEqual(v1.types.get(TYPE_URLS.endpoint)?.version, v3.types.get(TYPE_URLS.endpoint)?.version);
  assert.equal(v1.types.get(TYPE_URLS.cluster)?.version, v3.types.get(TYPE_URLS.cluster)?.version);
  assert.equal(v1.types.get(TYPE_URLS.endpoint)?.get('a-cla')?.version, v3.types.get(TYPE_URLS.endpoint)?.get('a-cla')?.version);
});

test('SnapshotCache rejects an inconsistent or malformed snapshot and keeps the previous one', () => {
  const cache = new SnapshotCache();
  const seen: (string | undefined)[] = [];
  cache.subscribe('n', (p) => seen.push(p?.types.get(TYPE_URLS.cluster)?.version));
  const good = echoSnapshot({ backends });
  cache.setSnapshot('n', good);
  const bad = echoSnapshot({ backends });
  bad.resources[TYPE_URLS.endpoint]?.delete('a-cla');
  assert.throws(() => cache.setSnapshot('n', bad), (err: unknown) => err instanceof SnapshotError && /'a-cla'/.test(err.message));
  const malformed = echoSnapshot({ backends, routeActionExtra: { timeoutt: { seconds: 1 } } });
  assert.throws(() => cache.setSnapshot('n', malformed), /RDS 'echo-route'.*RouteAction.*unknown field 'timeoutt'/);
  assert.equal(cache.getSnapshot('n'), good);
  assert.equal(seen.length, 1, 'rejected snapshots notify nobody');
  cache.clearSnapshot('n');
  assert.equal(cache.getSnapshot('n'), undefined);
  assert.deepEqual(seen, [seen[0], undefined]);
});

test('groups: a group shared by two nodes is prepared once; an unchanged type keeps its object; names may not repeat across groups', () => {
  const cache = new SnapshotCache();
  const shared = echoSnapshot({ backends });
  const own = (port: number) => new Map([[`own-${port}`, { name: `own-${port}`, type: 'STATIC', connect_timeout: { seconds: 1 } }]]);
  const withOwn = (port: number): XdsSnapshot => ({
    resources: { ...shared.resources, [TYPE_URLS.cluster]: [shared.resources[TYPE_URLS.cluster] ?? new Map(), own(port)] },
  });
  cache.setSnapshot('n1', withOwn(1));
  cache.setSnapshot('n2', withOwn(2));
  const [t1, t2] = ['n1', 'n2'].map((n) => cache.getPrepared(n)?.types.get(TYPE_URLS.cluster));
  assert.equal(t1?.groups[0], t2?.groups[0], 'the shared group is one prepared object');
  assert.notEqual(t1?.version, t2?.version);
  assert.equal(t1?.size, (shared.resources[TYPE_URLS.cluster]?.size ?? 0) + 1);
  assert.ok(t1?.get('own-1') && !t1.get('own-2'));

  // Same content in new objects: every type keeps its previous PreparedType.
  const before = cache.getPrepared('n1');
  const again = echoSnapshot({ backends });
  cache.setSnapshot('n1', { resources: { ...again.resources, [TYPE_URLS.cluster]: [again.resources[TYPE_URLS.cluster] ?? new Map(), own(1)] } });
  for (const t of Object.values(TYPE_URLS)) assert.equal(cache.getPrepared('n1')?.types.get(t), before?.types.get(t), t);

  const clash: XdsSnapshot = { resources: { ...shared.resources, [TYPE_URLS.cluster]: [shared.resources[TYPE_URLS.cluster] ?? new Map(), new Map([['a', { name: 'a', type: 'STATIC' }]])] } };
  assert.throws(() => cache.setSnapshot('n3', clash), /CDS 'a' is in two resource groups/);
});
