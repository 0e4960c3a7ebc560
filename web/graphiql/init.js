// GraphiQL on greenline's own origin: queries over /graphql, subscriptions over /graphql/ws.
// A bearer token goes in the Headers tab: {"Authorization": "Bearer <token>"}; it is used for subscriptions too.
(function () {
  var ws = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/graphql/ws';
  var headersOf = function () {
    try {
      return JSON.parse(localStorage.getItem('graphiql:headers') || '{}');
    } catch (e) {
      return {};
    }
  };
  var fetcher = GraphiQL.createFetcher({
    url: '/graphql',
    subscriptionUrl: ws,
    wsConnectionParams: function () {
      var h = headersOf();
      return h.Authorization || h.authorization ? { Authorization: h.Authorization || h.authorization } : {};
    },
  });
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
