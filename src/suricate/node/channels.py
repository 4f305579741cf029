"""Jupyter messages passed through to a session's kernel, for Jupyter clients (``/jupyter``).

A client's request goes in as it came (its ``msg_id`` and header kept), signed here with the
kernel's key, which never leaves the node; what the kernel sends in answer (the reply on shell
or control, and the iopub messages whose parent is the request) comes out until the kernel is
idle again and has replied. The kernel is held meanwhile, as a cell holds it: requests to one
kernel are handled one at a time, as the kernel's shell handles them anyway.
"""

from __future__ import annotations

import asyncio
import json
import logging
import queue
from typing import Any

from suricate.errors import KernelDied
from suricate.node.kernels import Kernel
from suricate.wire.bus import EventHook
from suricate.wire.messages import JsonObject, KernelMessage, KernelRequest

log = logging.getLogger(__name__)

# How long a request other than execute_request may take once the kernel is held.
REQUEST_TIMEOUT_S = 60.0
# After an execute_request's time limit the cell is interrupted; this long later, given up.
INTERRUPT_GRACE_S = 10.0
# How long to wait for an answer before looking whether the kernel still lives.
POLL_S = 0.2


class RequestFailed(Exception):
    """The kernel did not answer a request in time, or the request was not a message."""

    def __init__(self, code: str, message: str) -> None:
        self.code, self.message = code, message
        super().__init__(message)


async def relay(
    kernel: Kernel, command: KernelRequest, emit: EventHook, exec_timeout: float
) -> None:
    """Send a client's message to the kernel and emit the kernel's answers to it.

    Raises ``KernelDied`` when the kernel ends meanwhile, ``RequestFailed`` otherwise.
    """
    msg = _outgoing(command.message)
    msg_id, msg_type = msg["msg_id"], msg["msg_type"]
    executes = msg_type == "execute_request"
    timeout = (command.timeout or exec_timeout) if executes else REQUEST_TIMEOUT_S
    async with kernel.claimed() as kc:
        if kc is None:
            raise KernelDied(kernel.exit_code())
        import zmq
        import zmq.asyncio

        channel = kc.control_channel if command.channel == "control" else kc.shell_channel
        channel.send(msg)
        # Only *_request messages get a reply; every message gets iopub busy, then idle.
        replied, idle, interrupted = not msg_type.endswith("_request"), False, False
        poller = zmq.asyncio.Poller()
        poller.register(kc.iopub_channel.socket, zmq.POLLIN)
        if not replied:
            poller.register(channel.socket, zmq.POLLIN)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not (replied and idle):
            if loop.time() > deadline:
                if not executes or interrupted:
                    raise RequestFailed(
                        "timeout", f"the kernel did not answer {msg_type} within {timeout:g} s"
                    )
                interrupted = True
                await kernel.interrupt()
                deadline = loop.time() + INTERRUPT_GRACE_S
            ready = dict(await poller.poll(POLL_S * 1000))
            if not ready:
                if not await kernel.alive():
                    raise kernel.died()
                continue
            got = await _poll(kc.iopub_channel, 0) if kc.iopub_channel.socket in ready else None
            if got is not None and _parent_id(got) == msg_id:
                if got["msg_type"] == "status":
                    idle = (got.get("content") or {}).get("execution_state") == "idle"
                await emit(_answer(command, "iopub", got))
            if not replied and channel.socket in ready:
                answer = await _poll(channel, 0)
                if answer is not None and _parent_id(answer) == msg_id:
                    replied = True
                    poller.unregister(channel.socket)
                    await emit(_answer(command, command.channel, answer))


async def _poll(channel: Any, timeout: float) -> dict[str, Any] | None:
    try:
        msg: dict[str, Any] = await channel.get_msg(timeout=timeout)
    except queue.Empty:
        return None
    return msg


def _parent_id(msg: dict[str, Any]) -> object:
    return (msg.get("parent_header") or {}).get("msg_id")


def _outgoing(parts: JsonObject) -> dict[str, Any]:
    """The client's message as jupyter_client sends it; stdin is never offered."""
    header = parts.get("header")
    if not isinstance(header, dict):
        raise RequestFailed("bad_message", "a Jupyter message needs a header")
    msg_id, msg_type = header.get("msg_id"), header.get("msg_type")
    if not isinstance(msg_id, str) or not isinstance(msg_type, str):
        raise RequestFailed("bad_message", "a message's header needs msg_id and msg_type")
    content = parts.get("content")
    content = dict(content) if isinstance(content, dict) else {}
    if msg_type == "execute_request":
        # No one answers input_request here: input() fails at once, clearly.
        content["allow_stdin"] = False
    parent, metadata = parts.get("parent_header"), parts.get("metadata")
    return {
        "header": header,
        "msg_id": msg_id,
        "msg_type": msg_type,
        "parent_header": parent if isinstance(parent, dict) else {},
        "metadata": metadata if isinstance(metadata, dict) else {},
        "content": content,
        "buffers": [],
    }


def _answer(command: KernelRequest, channel: str, msg: dict[str, Any]) -> KernelMessage:
    """The kernel's message in JSON terms; one past the size limit says what it was instead."""
    from jupyter_client.jsonutil import json_default

    parts = {
        key: msg.get(key)
        for key in ("header", "parent_header", "metadata", "content", "msg_id", "msg_type")
    }
    encoded = json.dumps(parts, default=json_default)
    if len(encoded) > command.max_bytes:
        log.info("a %s of %d bytes was cut to its limit", msg.get("msg_type"), len(encoded))
        note = (
            f"[suricate] a {msg.get('msg_type')} message of {len(encoded)} bytes was dropped: "
            f"messages to Jupyter clients are limited to {command.max_bytes} bytes"
        )
        plain = json.loads(json.dumps({**parts, "content": {}}, default=json_default))
        if channel == "iopub":
            plain["msg_type"] = plain["header"]["msg_type"] = "stream"
            plain["content"] = {"name": "stderr", "text": note + "\n"}
        else:
            plain["content"] = {
                "status": "error",
                "ename": "MessageTooLarge",
                "evalue": note,
                "traceback": [],
            }
        return KernelMessage(command.session_id, channel, plain)
    return KernelMessage(command.session_id, channel, json.loads(encoded))
