"""The Jupyter Server kernel API under /jupyter, on real sandboxed kernels: kernelspecs, kernels'
REST routes, and the channels WebSocket speaking the Jupyter messaging protocol."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketDenialResponse

pytestmark = [
    pytest.mark.sqlite_only("kernels do not touch the database; SQLite alone keeps these quick"),
    pytest.mark.settings(kernel_pool_size=0),
]
API = "/jupyter/api"


def _token(client: TestClient) -> str:
    return client.headers["Authorization"].split()[1]


def _jupyter(client: TestClient) -> TestClient:
    """The user's client, sending its token as Jupyter clients do."""
    client.headers["Authorization"] = f"token {_token(client)}"
    return client


def request(msg_type: str, content: dict[str, Any], channel: str = "shell") -> dict[str, Any]:
    msg_id = uuid.uuid4().hex
    header = {
        "msg_id": msg_id,
        "msg_type": msg_type,
        "username": "test",
        "session": "s1",
        "date": "2026-01-01T00:00:00.000000Z",
        "version": "5.3",
    }
    return {
        "header": header,
        "parent_header": {},
        "metadata": {},
        "content": content,
        "channel": channel,
    }


def exchange(ws: Any, message: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Send a request; return its reply and its iopub messages, up to the kernel's idle."""
    ws.send_json(message)
    msg_id = message["header"]["msg_id"]
    reply, iopub, idle = None, [], False
    replies = message["header"]["msg_type"].endswith("_request")
    while (replies and reply is None) or not idle:
        got = ws.receive_json()
        if got["parent_header"].get("msg_id") != msg_id:
            continue
        if got["channel"] == "iopub":
            iopub.append(got)
            idle = got["msg_type"] == "status" and got["content"]["execution_state"] == "idle"
        else:
            reply = got
    return reply, iopub


def test_kernelspecs_kernels_and_their_routes(alice: TestClient, bob: TestClient) -> None:
    alice = _jupyter(alice)
    specs = alice.get(f"{API}/kernelspecs").json()
    assert specs["default"] == "python3"
    spec = specs["kernelspecs"]["python3"]
    assert spec["name"] == "python3" and spec["resources"] == {}
    assert spec["spec"]["language"] == "python" and spec["spec"]["argv"]
    assert alice.get(f"{API}/kernelspecs/python3").json()["spec"]["display_name"]
    assert alice.get(f"{API}/kernelspecs/ir").status_code == 404
    assert alice.post(f"{API}/kernels", json={"name": "ir"}).status_code == 404
    assert alice.get(f"{API}/kernels", headers={"Authorization": ""}).status_code == 401

    r = alice.post(f"{API}/kernels", json={"name": "python3", "env": {"KERNEL_X": "1"}})
    assert r.status_code == 201, r.text
    kernel = r.json()
    kid = kernel["id"]
    assert r.headers["location"] == f"{API}/kernels/{kid}"
    assert set(kernel) == {"id", "name", "last_activity", "execution_state", "connections"}
    assert kernel["name"] == "python3" and kernel["connections"] == 0
    assert kernel["last_activity"].endswith("Z") and "." in kernel["last_activity"]
    assert [k["id"] for k in alice.get(f"{API}/kernels").json()] == [kid]
    # busy too while the fresh kernel still uses CPU (its imports), as its node samples it
    assert alice.get(f"{API}/kernels/{kid}").json()["execution_state"] in ("idle", "busy")
    # Bearer works as well as "token"; the kernel is a session of the Suricate API too.
    bearer = {"Authorization": f"Bearer {_token(alice)}"}
    assert uuid.UUID(kid).hex == kid.replace("-", "")  # a dashed UUID, as Jupyter routes want
    session = alice.get(f"/api/v1/sessions/{kid.replace('-', '')}", headers=bearer)
    assert session.status_code == 200

    # A Jupyter session names a notebook's path for a kernel (how VS Code starts kernels).
    r = alice.post(
        f"{API}/sessions",
        json={"path": "w/a b.ipynb", "name": "a b", "type": "notebook", "kernel": {"id": kid}},
    )
    assert r.status_code == 201, r.text
    named = r.json()
    assert named["kernel"]["id"] == kid and named["notebook"]["path"] == "w/a b.ipynb"
    assert [s["id"] for s in alice.get(f"{API}/sessions").json()] == [named["id"]]
    moved = alice.patch(f"{API}/sessions/{named['id']}", json={"path": "b.ipynb"})
    assert moved.json()["path"] == "b.ipynb" and moved.json()["kernel"]["id"] == kid
    r_notebook = {"path": "c.ipynb", "kernel": {"name": "ir"}}
    assert alice.post(f"{API}/sessions", json=r_notebook).status_code == 404  # never in Python

    # Another tenant: every route of the kernel is a 404, its WebSocket too.
    bob = _jupyter(bob)
    assert bob.get(f"{API}/kernels").json() == []
    assert bob.get(f"{API}/sessions").json() == []
    for method in ("GET", "PATCH", "DELETE"):
        r = bob.request(method, f"{API}/sessions/{named['id']}", json={})
        assert r.status_code == 404, method
    assert bob.post(f"{API}/sessions", json={"path": "x", "kernel": {"id": kid}}).status_code == 404
    for method, path in [
        ("GET", f"{API}/kernels/{kid}"),
        ("POST", f"{API}/kernels/{kid}/interrupt"),
        ("POST", f"{API}/kernels/{kid}/restart"),
        ("DELETE", f"{API}/kernels/{kid}"),
    ]:
        assert bob.request(method, path).status_code == 404, (method, path)
    with (
        pytest.raises(WebSocketDenialResponse) as denied,
        bob.websocket_connect(f"{API}/kernels/{kid}/channels?token={_token(bob)}"),
    ):
        pass
    assert denied.value.status_code == 404

    with alice.websocket_connect(f"{API}/kernels/{kid}/channels?token={_token(alice)}") as ws:
        reply, _ = exchange(ws, request("execute_request", {"code": "x = 41", "silent": False}))
        assert reply["content"]["status"] == "ok"
        assert alice.get(f"{API}/kernels/{kid}").json()["connections"] == 1
    assert alice.post(f"{API}/kernels/{kid}/interrupt").status_code == 204
    r = alice.post(f"{API}/kernels/{kid}/restart", json={})
    assert r.status_code == 200 and r.json()["id"] == kid
    with alice.websocket_connect(
        f"{API}/kernels/{kid}/channels", headers={"Authorization": f"token {_token(alice)}"}
    ) as ws:
        _, iopub = exchange(ws, request("execute_request", {"code": "'x' in globals()"}))
        result = next(m for m in iopub if m["msg_type"] == "execute_result")
        assert result["content"]["data"]["text/plain"] == "False"  # a fresh kernel: x is gone
    # Ending the Jupyter session stops its kernel, as Jupyter Server does.
    assert alice.delete(f"{API}/sessions/{named['id']}").status_code == 204
    assert alice.get(f"{API}/kernels/{kid}").status_code == 404
    assert alice.delete(f"{API}/kernels/{kid}").status_code == 404
    assert alice.get(f"{API}/kernels").json() == []
    assert alice.get(f"{API}/sessions").json() == []


@pytest.mark.timeout(300)  # two cold kernel starts (the first, and the one after a death)
def test_channels_speak_the_jupyter_protocol(alice: TestClient) -> None:
    alice = _jupyter(alice)
    kid = alice.post(f"{API}/kernels", json={"name": "python3"}).json()["id"]
    with alice.websocket_connect(f"{API}/kernels/{kid}/channels?token={_token(alice)}") as ws:
        info, _ = exchange(ws, request("kernel_info_request", {}))
        assert info["msg_type"] == "kernel_info_reply"
        assert info["content"]["language_info"]["name"] == "python"

        sent = request("execute_request", {"code": "from suricate import sdk\nprint(1)\n6 * 7"})
        reply, iopub = exchange(ws, sent)
        # The client's msg_id and header come back as the parent of every answer.
        assert reply["msg_type"] == "execute_reply" and reply["channel"] == "shell"
        assert reply["parent_header"]["msg_id"] == sent["header"]["msg_id"]
        assert reply["parent_header"]["session"] == "s1"
        assert reply["content"]["status"] == "ok"
        kinds = [m["msg_type"] for m in iopub]
        assert kinds[0] == "status" and "execute_input" in kinds
        assert any(m["msg_type"] == "stream" and m["content"]["text"] == "1\n" for m in iopub)
        result = next(m for m in iopub if m["msg_type"] == "execute_result")
        assert result["content"]["data"]["text/plain"] == "42"

        # No stdin: input() fails at once, clearly.
        reply, iopub = exchange(ws, request("execute_request", {"code": "input('name? ')"}))
        assert reply["content"]["status"] == "error"
        assert reply["content"]["ename"] == "StdinNotImplementedError"

        reply, _ = exchange(
            ws, request("complete_request", {"code": "import os\nos.pa", "cursor_pos": 15})
        )
        assert reply["msg_type"] == "complete_reply"
        assert "os.path" in reply["content"]["matches"] or "path" in reply["content"]["matches"]
        reply, _ = exchange(
            ws, request("inspect_request", {"code": "len", "cursor_pos": 3, "detail_level": 0})
        )
        assert reply["content"]["found"] is True
        assert "text/plain" in reply["content"]["data"]
        reply, _ = exchange(ws, request("is_complete_request", {"code": "for i in x:"}))
        assert reply["content"]["status"] == "incomplete"
        reply, _ = exchange(
            ws,
            request(
                "history_request",
                {"hist_access_type": "tail", "n": 5, "output": False, "raw": True},
            ),
        )
        assert reply["msg_type"] == "history_reply"

        # Comms: a kernel-side target answers a comm opened by the client.
        code = (
            "def _target(comm, msg):\n"
            "    @comm.on_msg\n"
            "    def _echo(msg):\n"
            "        comm.send({'echo': msg['content']['data']})\n"
            "get_ipython().kernel.comm_manager.register_target('echo', _target)"
        )
        assert (
            exchange(ws, request("execute_request", {"code": code}))[0]["content"]["status"] == "ok"
        )
        comm_id = uuid.uuid4().hex
        opened = request("comm_open", {"comm_id": comm_id, "target_name": "echo", "data": {}})
        exchange(ws, opened)
        _, iopub = exchange(ws, request("comm_msg", {"comm_id": comm_id, "data": {"n": 1}}))
        echoed = [m for m in iopub if m["msg_type"] == "comm_msg"]
        assert echoed and echoed[0]["content"]["data"] == {"echo": {"n": 1}}
        reply, _ = exchange(ws, request("comm_info_request", {"target_name": "echo"}))
        assert comm_id in reply["content"]["comms"]
        exchange(ws, request("comm_close", {"comm_id": comm_id, "data": {}}))

        # A kernel that dies is replaced: its request fails clearly, the next one runs.
        reply, iopub = exchange(ws, request("execute_request", {"code": "import os; os._exit(1)"}))
        assert reply["content"]["status"] == "error"
        assert reply["content"]["ename"] == "KernelDied"
        states = [m["content"]["execution_state"] for m in iopub if m["msg_type"] == "status"]
        assert "restarting" in states and states[-1] == "idle"
        reply, _ = exchange(ws, request("execute_request", {"code": "'fresh'"}))
        assert reply["content"]["status"] == "ok"

        # Interrupt on the control channel is answered here.
        ws.send_json(request("interrupt_request", {}, channel="control"))
        assert ws.receive_json()["msg_type"] == "interrupt_reply"

        # Not a message: the socket is closed.
        ws.send_text("not json")
        assert ws.receive()["type"] == "websocket.close"


@pytest.mark.settings(kernel_pool_size=0, jupyter_max_message_bytes=2000, jupyter_messages_per_s=2)
def test_channels_are_bounded(alice: TestClient) -> None:
    alice = _jupyter(alice)
    kid = alice.post(f"{API}/kernels").json()["id"]
    url = f"{API}/kernels/{kid}/channels?token={_token(alice)}"
    with alice.websocket_connect(url) as ws:
        # An output past the limit comes as a note, not the output.
        _, iopub = exchange(ws, request("execute_request", {"code": "print('x' * 5000)"}))
        streams = [m["content"]["text"] for m in iopub if m["msg_type"] == "stream"]
        assert streams and "dropped" in streams[0] and "xxxxx" not in streams[0]
        # Deeply nested content gets an answer (an error, or the kernel's), never a hang.
        deep = request("kernel_info_request", {})
        deep["metadata"] = {"x": json.loads("[" * 400 + "]" * 400)}
        reply, _ = exchange(ws, deep)
        assert reply["msg_type"] == "kernel_info_reply"
        # A client's message past the limit closes the socket.
        ws.send_json(request("execute_request", {"code": "'" + "y" * 3000 + "'"}))
        closed = ws.receive()
        assert closed["type"] == "websocket.close" and closed["code"] == 1009
    with alice.websocket_connect(url) as ws:
        ws.send_text("[" * 1500)  # not a message, however it nests
        assert ws.receive()["code"] == 1003
    with alice.websocket_connect(url) as ws:
        for _ in range(40):  # past the burst of 20
            ws.send_json(request("kernel_info_request", {}))
        while (got := ws.receive())["type"] != "websocket.close":
            pass
        assert got["code"] == 1008
