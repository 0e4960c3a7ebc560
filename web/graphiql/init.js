// GraphiQL on greenline's own origin: queries over /graphql, subscriptions over /graphql/ws.
// A bearer token goes in the Headers tab: {"Authorization": "Bearer <token>"}, for queries and subscriptions.
(function () {
  var ws = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/graphql/ws';
  // GraphiQL passes the headers of its Headers tab to the WebSocket's connection_init as well, which is
  // where greenline reads the token of a subscription.
  var fetcher = GraphiQL.createFetcher({ url: '/graphql', subscriptionUrl: ws });
  var defaultQuery =
    '# greenline 的 GraphQL 接口。令牌请填在下方 Headers：{"Authorization": "Bearer <令牌>"}\n' +
    '# The greenline API. Put a token in Headers below: {"Authorization": "Bearer <token>"}\n\n' +
    'query Catalogue {\n  techniques(first: 5) {\n    totalCount\n    nodes { id name }\n  }\n}\n';
  ReactDOM.createRoot(document.getElementById('graphiql')).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: defaultQuery,
      defaultEditorToolsVisibility: true,
      shouldPersistHeaders: true,
    })
  );
})();
