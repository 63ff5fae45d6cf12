"""Drive SessionFS's MCP server with the official MCP Python SDK (PyPI `mcp`): over stdio (`sfs mcp serve`)
and over streamable HTTP with a bearer key (`sessionfs-server` /mcp). Checks results against the store.

Usage: client.py stdio SFS_BIN EXPECTED_JSON | client.py http URL KEY EXPECTED_JSON
EXPECTED_JSON: {"ids": [...], "word": "...", "handoff_to": "email or null"}
"""
import asyncio
import json
import os
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamablehttp_client

TOOLS = {"list_sessions", "search_sessions", "get_session", "get_messages", "resume_session",
         "handoff_session", "list_handoffs", "claim_handoff"}


def check(cond, what):
    if not cond:
        raise SystemExit(f"FAILED: {what}")
    print(f"ok: {what}")


async def exercise(session: ClientSession, expected: dict, label: str):
    init = await session.initialize()
    check(init.serverInfo.name == "sessionfs", f"{label}: initialize names the server")
    tools = (await session.list_tools()).tools
    names = {t.name for t in tools}
    check(names == TOOLS, f"{label}: tools/list has the eight tools ({sorted(names)})")
    for t in tools:
        check(t.description and t.inputSchema and t.annotations is not None, f"{label}: {t.name} is documented")

    r = await session.call_tool("list_sessions", {"page_size": 100})
    check(not r.isError, f"{label}: list_sessions succeeds")
    ids = sorted(s["id"] for s in r.structuredContent["sessions"])
    check(ids == sorted(expected["ids"]), f"{label}: list_sessions returns the store's sessions {ids}")
    first = expected["ids"][0]

    r = await session.call_tool("search_sessions", {"query": expected["word"], "limit": 5})
    check(not r.isError and r.structuredContent["hits"], f"{label}: search_sessions finds {expected['word']!r}")
    check(all(h["session_id"] in expected["ids"] for h in r.structuredContent["hits"]), f"{label}: hits are ours")

    r = await session.call_tool("get_session", {"session_id": first})
    check(not r.isError and r.structuredContent["session"]["id"] == first, f"{label}: get_session {first}")
    count = r.structuredContent["counts"]["messages"]

    r = await session.call_tool("get_messages", {"session_id": first, "limit": 100})
    check(not r.isError and r.structuredContent["total"] == count, f"{label}: get_messages total = {count}")

    r = await session.call_tool("resume_session", {"session_id": first, "max_tokens": 1000})
    check(not r.isError and first in r.structuredContent["brief"], f"{label}: resume_session brief")
    check(r.structuredContent["estimated_tokens"] <= 1100, f"{label}: resume_session within budget")

    r = await session.call_tool("get_session", {"session_id": "ses_ffffffffffffffff"})
    check(r.isError, f"{label}: unknown session is a tool error")

    r = await session.call_tool("list_handoffs", {"mailbox": "sent"})
    if expected.get("handoff_to"):
        check(not r.isError, f"{label}: list_handoffs succeeds")
        r = await session.call_tool("handoff_session",
                                    {"session_id": first, "email": expected["handoff_to"], "message": "yours"})
        check(not r.isError and r.structuredContent["id"].startswith("hnd_"), f"{label}: handoff_session → hnd_")
        hnd = r.structuredContent["id"]
        r = await session.call_tool("list_handoffs", {"mailbox": "sent"})
        check(any(h["id"] == hnd for h in r.structuredContent["handoffs"]), f"{label}: sent lists {hnd}")
        r = await session.call_tool("claim_handoff", {"handoff_id": hnd})
        check(r.isError, f"{label}: the sender cannot claim their own handoff")
    else:
        check(r.isError and "sfs auth login" in r.content[0].text, f"{label}: handoffs without login say how")


async def main():
    mode = sys.argv[1]
    if mode == "stdio":
        expected = json.loads(sys.argv[3])
        params = StdioServerParameters(command=sys.argv[2], args=["mcp", "serve"], env=dict(os.environ))
        async with stdio_client(params) as (read, write):
            async with ClientSession(read, write) as session:
                await exercise(session, expected, "stdio")
    else:
        url, key, expected = sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
        async with streamablehttp_client(url, headers={"Authorization": f"Bearer {key}"}) as (read, write, _):
            async with ClientSession(read, write) as session:
                await exercise(session, expected, "http")
        try:
            async with streamablehttp_client(url, headers={"Authorization": "Bearer sk_sfs_" + "0" * 32}) as (r, w, _):
                async with ClientSession(r, w) as session:
                    await session.initialize()
            check(False, "http: a wrong key is refused")
        except BaseException:  # the SDK raises (an exception group) on 401
            check(True, "http: a wrong key is refused")


asyncio.run(main())
