import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MESHWORK_IMAGE } from '../../image.js';
import { IMAGE_RULES, meshworkApp, meshworkImageRule } from './catalog.js';

describe('meshwork image', () => {
  it('the kubelet rule matches the image with any tag and passes the container args to the CLI', () => {
    const rule = meshworkImageRule();
    assert.match('ghcr.io/meshwork/meshwork', rule.pattern);
    assert.match(MESHWORK_IMAGE, /^ghcr\.io\/meshwork\/meshwork:\d+\.\d+\.\d+/);
    assert.ok(rule.run.kind === 'app');
    const app = rule.run.app;
    assert.match(app.module.pathname, /\/src\/cli\/main\.(ts|js)$/);
    const match = rule.pattern.exec('ghcr.io/meshwork/meshwork');
    assert.ok(match);
    assert.equal(app, meshworkApp);
    assert.deepEqual(meshworkApp.args(match, 15010, ['proxy', 'sidecar']), ['proxy', 'sidecar']);
    assert.throws(() => meshworkApp.args(match, 15010), /needs args/);
    assert.equal(IMAGE_RULES[0]?.run.kind === 'app' && IMAGE_RULES[0].run.app, meshworkApp, 'the catalog has the meshwork row');
  });
});
