// The GraphQL clients people build on, against a real greenline server (scripts/client-tests starts it):
// Apollo Client 3 with automatic persisted queries, graphql-ws subscriptions and apollo-upload-client;
// urql; a plain graphql-ws client. Env: URL (the server), WORKER (a worker's bearer token).
// Run with node's test runner: node --test web-tests/clients.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import WebSocket from 'ws';
import { createClient as createWsClient } from 'graphql-ws';
import { ApolloClient, InMemoryCache, HttpLink, ApolloLink, split, gql } from '@apollo/client/core/index.js';
import { createPersistedQueryLink } from '@apollo/client/link/persisted-queries/index.js';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions/index.js';
import { getMainDefinition } from '@apollo/client/utilities/index.js';
import createUploadLink from 'apollo-upload-client/createUploadLink.mjs';
import { Client as UrqlClient, fetchExchange, subscriptionExchange, gql as urqlGql } from '@urql/core';

const { URL: base, WORKER: token } = process.env;
assert.ok(base && token, 'URL and WORKER are set (scripts/client-tests sets them)');
const auth = { Authorization: `Bearer ${token}` };
const wsUrl = `${base.replace(/^http/, 'ws')}/graphql/ws`;
const sha256 = (text) => createHash('sha256').update(text).digest('hex');

/** fetch that records what each request sent, to see what the links did. */
function recordingFetch(log) {
  return async (url, init) => {
    const method = init?.method ?? 'GET';
    const body = typeof init?.body === 'string' ? JSON.parse(init.body) : null;
    const search = new URL(url).searchParams;
    log.push({
      method,
      hasQuery: method === 'GET' ? search.has('query') : Boolean(body?.query),
      hasHash: method === 'GET' ? (search.get('extensions') ?? '').includes('sha256Hash') : Boolean(body?.extensions?.persistedQuery),
    });
    return fetch(url, init);
  };
}

function wsClient() {
  return createWsClient({ url: wsUrl, webSocketImpl: WebSocket, connectionParams: auth, lazy: true, retryAttempts: 0 });
}

function apollo({ log, useGET = false } = {}) {
  const http = new HttpLink({ uri: `${base}/graphql`, headers: auth, fetch: recordingFetch(log ?? []) });
  const persisted = createPersistedQueryLink({ sha256, useGETForHashedQueries: useGET });
  const ws = new GraphQLWsLink(wsClient());
  const link = split(
    ({ query }) => {
      const def = getMainDefinition(query);
      return def.kind === 'OperationDefinition' && def.operation === 'subscription';
    },
    ws,
    persisted.concat(http),
  );
  return {
    client: new ApolloClient({
      link,
      cache: new InMemoryCache({
        // A recipe from Apollo's documentation: it does nothing unless the root type is named Query.
        typePolicies: { Query: { fields: { viewer: { merge: true } } } },
      }),
    }),
    ws,
  };
}

const VIEWER = gql`
  query Viewer {
    viewer {
      id
      name
      role
    }
  }
`;

const CREATE = gql`
  mutation Create($input: CreateProposalInput!) {
    createProposal(input: $input) {
      proposal {
        id
        version
        title
      }
      userErrors {
        code
        message
      }
    }
  }
`;

test('Apollo: persisted queries send the hash, then the text once, then only the hash', async () => {
  const log = [];
  const { client } = apollo({ log });
  const first = await client.query({ query: VIEWER, fetchPolicy: 'network-only' });
  assert.equal(first.data.viewer.role, 'WORKER');
  // Hash alone (unknown: PERSISTED_QUERY_NOT_FOUND), then hash and text.
  assert.deepEqual(log.map((r) => [r.hasHash, r.hasQuery]), [[true, false], [true, true]]);
  // A second client (another browser) sends only the hash, over GET, and is answered.
  const log2 = [];
  const other = apollo({ log: log2, useGET: true });
  const again = await other.client.query({ query: VIEWER, fetchPolicy: 'network-only' });
  assert.equal(again.data.viewer.name, first.data.viewer.name);
  assert.deepEqual(log2.map((r) => [r.method, r.hasHash, r.hasQuery]), [['GET', true, false]]);
  // The root type is named Query: the normalized cache answers from the root object.
  const cached = client.cache.readQuery({ query: VIEWER });
  assert.equal(cached.viewer.id, first.data.viewer.id);
  assert.equal(client.cache.extract().ROOT_QUERY.__typename, 'Query');
});

test('Apollo: a mutation, then its event over graphql-ws', async () => {
  const { client, ws } = apollo();
  const events = [];
  const done = new Promise((resolve, reject) => {
    const sub = client
      .subscribe({
        query: gql`
          subscription Events {
            proposalEvents {
              sequence
              kind
              proposalId
            }
          }
        `,
      })
      .subscribe({
        next: ({ data }) => {
          events.push(data.proposalEvents);
          sub.unsubscribe();
          resolve();
        },
        error: reject,
      });
  });
  // Give the subscription time to be registered, then make an event.
  await new Promise((r) => setTimeout(r, 500));
  const made = await client.mutate({
    mutation: CREATE,
    variables: { input: { proposal: { title: 'Apollo 客户端测试：空压机余热回收', body: '空压机余热用于冬季车间供暖。' } } },
  });
  assert.deepEqual(made.data.createProposal.userErrors, []);
  await done;
  assert.equal(events[0].proposalId, made.data.createProposal.proposal.id);
  assert.equal(events[0].kind, 'CREATED');
  await ws.client.dispose();
});

test('Apollo: an upload with apollo-upload-client', async () => {
  const { client } = apollo();
  const made = await client.mutate({
    mutation: CREATE,
    variables: { input: { proposal: { title: '上传测试：水泵变频改造', body: '循环水泵加装变频器。' } } },
  });
  const proposalId = made.data.createProposal.proposal.id;
  const upload = new ApolloClient({
    link: createUploadLink({ uri: `${base}/graphql`, headers: { ...auth, 'Apollo-Require-Preflight': 'true' } }),
    cache: new InMemoryCache(),
  });
  const png = Buffer.from(
    'iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGNgYPj/n4GBgYGBgYGBAQBrAwP9s3dGagAAAABJRU5ErkJggg==',
    'base64',
  );
  const file = new File([png], '水泵铭牌.png', { type: 'image/png' });
  const res = await upload.mutate({
    mutation: gql`
      mutation Upload($input: UploadAttachmentInput!) {
        uploadAttachment(input: $input) {
          attachment {
            id
            fileName
            contentType
          }
          userErrors {
            code
            message
          }
        }
      }
    `,
    variables: { input: { proposalId, file, caption: '铭牌' } },
  });
  assert.deepEqual(res.data.uploadAttachment.userErrors, []);
  assert.equal(res.data.uploadAttachment.attachment.fileName, '水泵铭牌.png');
  assert.equal(res.data.uploadAttachment.attachment.contentType, 'image/png');
});

test('urql: a query and a subscription', async () => {
  const ws = wsClient();
  const client = new UrqlClient({
    url: `${base}/graphql`,
    fetchOptions: { headers: auth },
    exchanges: [
      fetchExchange,
      subscriptionExchange({
        forwardSubscription: (request) => ({
          subscribe: (sink) => ({ unsubscribe: ws.subscribe({ ...request, query: request.query ?? '' }, sink) }),
        }),
      }),
    ],
  });
  const viewer = await client.query(urqlGql`query { viewer { name role } }`, {}).toPromise();
  assert.equal(viewer.error, undefined);
  assert.equal(viewer.data.viewer.role, 'WORKER');
  const techniques = await client.query(urqlGql`query { techniques(first: 2) { totalCount pageInfo { hasNextPage endCursor } } }`, {}).toPromise();
  assert.equal(techniques.error, undefined);
  assert.equal(typeof techniques.data.techniques.totalCount, 'number');
  // A refused subscription is an error urql can show, with the server's code.
  const refused = await new Promise((resolve) => {
    const { unsubscribe } = client
      .subscription(urqlGql`subscription { proposalEvents(proposalId: "bm9wZQ==") { kind } }`, {})
      .subscribe((result) => {
        if (result.error) {
          unsubscribe();
          resolve(result.error);
        }
      });
  });
  assert.ok(refused.graphQLErrors.length > 0);
  assert.ok(refused.graphQLErrors.every((e) => typeof e.extensions.code === 'string'), JSON.stringify(refused.graphQLErrors));
  await ws.dispose();
});

test('graphql-ws: a document that does not validate is an error with a code, not a complete', async () => {
  const ws = wsClient();
  const errors = await new Promise((resolve, reject) => {
    ws.subscribe({ query: 'subscription { nothingHere }' }, { next: () => reject(new Error('no next expected')), error: resolve, complete: () => reject(new Error('completed instead of an error')) });
  });
  assert.ok(Array.isArray(errors), 'the protocol error payload: a list of GraphQL errors');
  assert.equal(errors[0].extensions.code, 'GRAPHQL_VALIDATION_FAILED');
  await ws.dispose();
});
