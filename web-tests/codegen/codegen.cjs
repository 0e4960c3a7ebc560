// GraphQL Code Generator's client preset over schema/schema.graphql, with persisted documents on: it
// writes typed documents and persisted-documents.json (hash -> document) for the trusted-documents flow.
module.exports = {
  schema: '../../schema/schema.graphql',
  documents: ['documents.graphql'],
  generates: {
    './gql/': {
      preset: 'client',
      presetConfig: { persistedDocuments: { hashAlgorithm: 'sha256' } },
    },
  },
  silent: true,
};
