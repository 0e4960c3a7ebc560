"""Python's gql against a real greenline server (scripts/client-tests): a query, a mutation, an upload
whose Chinese file name aiohttp percent-encodes (RFC 7578), and a subscription over graphql-transport-ws.
Env: URL, WORKER. Prints '4 passed, 0 failed' when every check holds."""

import asyncio
import io
import os
import sys

from gql import Client, gql
from gql.transport.aiohttp import AIOHTTPTransport
from gql.transport.exceptions import TransportQueryError
from gql.transport.websockets import WebsocketsTransport

URL = os.environ["URL"]
AUTH = {"Authorization": f"Bearer {os.environ['WORKER']}"}
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000020000000208020000"
    "00fdd49a730000001649444154789c636060f8ff9f818181818181818101006b0303fdb3774"
    "66a0000000049454e44ae426082"
)

CREATE = gql(
    """mutation($input: CreateProposalInput!) {
         createProposal(input: $input) { proposal { id title } userErrors { code message } } }"""
)


async def main() -> int:
    passed = failed = 0

    async def check(name, coro):
        nonlocal passed, failed
        try:
            await coro
            passed += 1
            print(f"ok - {name}")
        except Exception as e:  # noqa: BLE001 - report every failure and go on
            failed += 1
            print(f"not ok - {name}: {e!r}")

    http = AIOHTTPTransport(url=f"{URL}/graphql", headers=AUTH)
    async with Client(transport=http, fetch_schema_from_transport=True) as session:

        async def query():
            r = await session.execute(gql("{ viewer { name role } }"))
            assert r["viewer"]["role"] == "WORKER", r

        async def upload():
            made = await session.execute(
                CREATE, variable_values={"input": {"proposal": {"title": "gql 上传测试", "body": "冷却塔风机变频。"}}}
            )
            pid = made["createProposal"]["proposal"]["id"]
            f = io.BytesIO(PNG)
            f.name = "水泵.png"
            r = await session.execute(
                gql(
                    """mutation($input: UploadAttachmentInput!) {
                         uploadAttachment(input: $input) { attachment { fileName contentType } userErrors { code } } }"""
                ),
                variable_values={"input": {"proposalId": pid, "file": f}},
                upload_files=True,
            )
            assert r["uploadAttachment"]["userErrors"] == [], r
            assert r["uploadAttachment"]["attachment"]["fileName"] == "水泵.png", r

        async def refused():
            try:
                await session.execute(gql("mutation { createProposal(input: {proposal: {title: \"\"}}) { userErrors { code } } }"))
            except TransportQueryError as e:
                raise AssertionError(f"a user error is data, not a transport error: {e}") from e

        await check("query", query())
        await check("upload with a percent-encoded Chinese file name", upload())
        await check("user errors come as data", refused())

    async def subscription():
        ws = WebsocketsTransport(
            url=URL.replace("http", "ws") + "/graphql/ws",
            init_payload=AUTH,
            subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
        )
        async with Client(transport=ws) as s:
            events = s.subscribe(gql("subscription { proposalEvents { kind proposalId } }"))
            first = asyncio.ensure_future(events.__anext__())
            await asyncio.sleep(0.5)
            async with Client(transport=AIOHTTPTransport(url=f"{URL}/graphql", headers=AUTH)) as h:
                made = await h.execute(
                    CREATE, variable_values={"input": {"proposal": {"title": "gql 订阅测试", "body": "余热回收。"}}}
                )
            event = await asyncio.wait_for(first, 10)
            assert event["proposalEvents"]["proposalId"] == made["createProposal"]["proposal"]["id"], event

    await check("subscription over graphql-transport-ws", subscription())
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


sys.exit(asyncio.run(main()))
