// Documents as a Relay app writes them; relay-compiler checks them against schema/schema.graphql and
// writes their persisted ids (persisted-documents.json) for the trusted-documents flow.
import { graphql } from 'relay-runtime';

export const viewer = graphql`
  query queriesViewerQuery {
    viewer {
      id
      name
      role
    }
  }
`;

export const catalogue = graphql`
  query queriesCatalogueQuery($first: Int, $after: String) {
    techniques(first: $first, after: $after) {
      totalCount
      edges {
        cursor
        node {
          id
          name
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`;

export const node = graphql`
  query queriesNodeQuery($id: ID!) {
    node(id: $id) {
      __typename
      id
      ... on User {
        name
      }
    }
  }
`;
