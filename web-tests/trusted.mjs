// The trusted-documents flow for production: relay-compiler and GraphQL Codegen wrote their documents'
// ids at build time (scripts/client-tests merges the two manifests), the server runs with
// GREENLINE_TRUSTED_DOCUMENTS naming them and GREENLINE_ONLY_TRUSTED=true, clients send ids only.
// Env: URL (that server), WORKER (a worker's token). Run with: node --test web-tests/trusted.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import relay from 'relay-runtime';
import ViewerQuery from './relay/src/__generated__/queriesViewerQuery.graphql.js';
import CatalogueQuery from './relay/src/__generated__/queriesCatalogueQuery.graphql.js';
import NodeQuery from './relay/src/__generated__/queriesNodeQuery.graphql.js';

const { Environment, Network, RecordSource, Store, fetchQuery } = relay;
const { URL: base, WORKER: token } = process.env;
assert.ok(base && token, 'URL and WORKER are set (scripts/client-tests sets them)');

async function post(body) {
  const res = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  return res.json();
}

// Relay's persisted queries: the network layer sends the artifact's id, never its text.
const sent = [];
const environment = new Environment({
  network: Network.create(async (params, variables) => {
    assert.equal(params.text, null, 'a persisted artifact carries no text');
    sent.push(params.id);
    return post({ doc_id: params.id, variables });
  }),
  store: new Store(new RecordSource()),
});

test('Relay: persisted queries by id, a node lookup and a cursor walk', async () => {
  const viewer = await fetchQuery(environment, ViewerQuery, {}).toPromise();
  assert.equal(viewer.viewer.role, 'WORKER');
  const node = await fetchQuery(environment, NodeQuery, { id: viewer.viewer.id }).toPromise();
  assert.equal(node.node.__typename, 'User');
  assert.equal(node.node.name, viewer.viewer.name);
  let after = null;
  const seen = new Set();
  let total = null;
  for (let page = 0; page < 50; page += 1) {
    const data = await fetchQuery(environment, CatalogueQuery, { first: 2, after }).toPromise();
    total = data.techniques.totalCount;
    for (const e of data.techniques.edges) {
      assert.ok(!seen.has(e.node.id), `no technique twice: ${e.node.id}`);
      seen.add(e.node.id);
    }
    if (!data.techniques.pageInfo.hasNextPage) break;
    after = data.techniques.pageInfo.endCursor;
  }
  assert.equal(seen.size, total, 'the walk saw every technique once');
  assert.ok(sent.every((id) => /^[0-9a-f]{64}$/.test(id)));
});

test('Codegen: the client preset documents by their hash', async () => {
  const manifest = JSON.parse(readFileSync(new URL('./codegen/gql/persisted-documents.json', import.meta.url)));
  const [hash] = Object.entries(manifest).find(([, doc]) => doc.includes('CodegenViewer'));
  const res = await post({ documentId: hash });
  assert.equal(res.data.viewer.role, 'WORKER', JSON.stringify(res));
  const [criteria] = Object.entries(manifest).find(([, doc]) => doc.includes('CodegenCriteria'));
  const crit = await post({ extensions: { persistedQuery: { version: 1, sha256Hash: criteria } } });
  assert.equal(typeof crit.data.evaluationCriteria.version, 'number', JSON.stringify(crit));
});

test('Anything that is not a trusted document is refused', async () => {
  const res = await post({ query: '{ viewer { name } }' });
  assert.equal(res.errors[0].extensions.code, 'TRUSTED_DOCUMENT_REQUIRED');
  assert.equal(res.data, undefined);
});
