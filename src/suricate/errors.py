"""Every error Suricate's services raise, in one tree.

::

    SuricateError
    ├── NotFound                  the thing does not exist *in this tenant* (404)
    │   ├── ObjectNotFound(name, version)
    │   ├── NotebookNotFound(ref)
    │   ├── SessionNotFound(session_id)
    │   ├── KernelSpecNotFound(name)  a Jupyter kernel name Suricate does not offer
    │   ├── RunNotFound(run_id)
    │   ├── ScheduleNotFound(schedule_id)
    │   ├── StreamNotFound(name)
    │   ├── ProcessorNotFound(processor_id)
    │   ├── ModelNotFound(ref)
    │   ├── TenantNotFound(name)
    │   ├── UserNotFound(name)
    │   └── TokenNotFound(ref)
    ├── InvalidInput              the request is well formed but its content is not acceptable (422)
    │   ├── InvalidName(kind, name, reason)
    │   ├── MalformedData(name, problem)
    │   ├── OutboundRefused(host)  a webhook or broker address the outbound guard refuses
    │   ├── OutboundUnreachable(host, port)
    │   ├── ChecksumMismatch(expected, actual)
    │   └── InvalidStream(reason, detail)
    ├── BadRequest                the request itself is wrong (400)
    │   ├── InvalidCursor(cursor)
    │   └── UploadIncomplete(expected, received)
    ├── Conflict                  the request conflicts with the current state (409)
    │   ├── AlreadyExists(kind, name)
    │   └── InUse
    ├── Unauthenticated           no or bad credentials (401)
    ├── PermissionDenied          authenticated, allowed in the tenant, but not for this (403)
    │   └── CsrfFailed
    ├── ExecutionNodeError(reason, detail)  no node could do it (503)
    ├── QuotaExceeded(quota, limit)  a user's or tenant's quota is used up (429)
    ├── SandboxUnavailable(reason)   kernels cannot be sandboxed as configured (a start-up error)
    ├── StoreLocked(path)         another server owns this data dir (a start-up error)
    ├── ObjectStoreUnavailable(url, reason)  the S3 store refused or failed a call (503)
    ├── TooLarge                  a request body past its limit (413)
    │   ├── UploadTooLarge(limit)
    │   └── BodyTooLarge(limit, setting)
    ├── TooManyAttempts(retry_after)   throttled, e.g. logins (429)
    ├── MalformedMessage(problem) a message between processes is not what its type says
    └── NodeError                 raised on an execution node, answered to the frontend as a reply
        ├── StreamError(code, message)  a stream cannot be reached or read
        ├── KernelDied(exit_code, memory_limit_mb, memory_peak_mb)  the kernel ended while in use
        └── SetupFailed(ename, evalue)  a processor's notebook cells raised before handling

Errors carry data, never HTTP: the web layer (``suricate.server.api.errors``) is the one place
that turns them into responses. Another tenant's things are always ``NotFound``, never
``PermissionDenied``.
"""

from __future__ import annotations


class SuricateError(Exception):
    """Base of every error Suricate raises on purpose."""

    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(SuricateError):
    code = "not_found"


class ObjectNotFound(NotFound):
    code = "object_not_found"

    def __init__(self, name: str, version: int | None = None) -> None:
        self.name, self.version = name, version
        what = f"object {name!r}" + (f" version {version}" if version is not None else "")
        super().__init__(f"{what} not found")


class NotebookNotFound(NotFound):
    code = "notebook_not_found"

    def __init__(self, ref: str) -> None:
        self.ref = ref
        super().__init__(f"notebook {ref!r} not found")


class SessionNotFound(NotFound):
    code = "session_not_found"

    def __init__(self, session_id: str) -> None:
        self.session_id = session_id
        super().__init__(f"session {session_id!r} not found")


class KernelSpecNotFound(NotFound):
    code = "kernelspec_not_found"

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"no kernel named {name[:80]!r}: Suricate's kernels are Python")


class RunNotFound(NotFound):
    code = "run_not_found"

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        super().__init__(f"run {run_id!r} not found")


class ScheduleNotFound(NotFound):
    code = "schedule_not_found"

    def __init__(self, schedule_id: str) -> None:
        self.schedule_id = schedule_id
        super().__init__(f"schedule {schedule_id!r} not found")


class StreamNotFound(NotFound):
    code = "stream_not_found"

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"stream {name!r} not found")


class ProcessorNotFound(NotFound):
    code = "processor_not_found"

    def __init__(self, processor_id: str) -> None:
        self.processor_id = processor_id
        super().__init__(f"processor {processor_id!r} not found")


class ModelNotFound(NotFound):
    code = "model_not_found"

    def __init__(self, ref: str) -> None:
        self.ref = ref
        super().__init__(f"model {ref!r} not found")


class TenantNotFound(NotFound):
    code = "tenant_not_found"

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"tenant {name!r} not found")


class UserNotFound(NotFound):
    code = "user_not_found"

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"user {name!r} not found")


class TokenNotFound(NotFound):
    code = "token_not_found"

    def __init__(self, ref: str) -> None:
        self.ref = ref
        super().__init__(f"token {ref!r} not found")


class InvalidInput(SuricateError):
    code = "invalid_input"


class InvalidName(InvalidInput):
    code = "invalid_name"

    def __init__(self, kind: str, name: str, reason: str) -> None:
        self.kind, self.name, self.reason = kind, name, reason
        super().__init__(f"invalid {kind} name {name!r}: {reason}")


class MalformedData(InvalidInput):
    code = "malformed_data"

    def __init__(self, name: str, problem: str) -> None:
        self.name, self.problem = name, problem
        super().__init__(f"{name}: {problem}")


class OutboundRefused(InvalidInput):
    """A destination the outbound guard does not allow (webhooks, stream brokers)."""

    code = "host_not_allowed"

    def __init__(self, host: str) -> None:
        self.host = host
        super().__init__(
            f"{host!r} is not an allowed destination: loopback, private, link-local and "
            "metadata addresses are refused unless SURICATE_OUTBOUND_ALLOWED_HOSTS allows them"
        )


class OutboundUnreachable(InvalidInput):
    """A destination that could not be resolved or reached (the same whatever the reason)."""

    code = "unreachable"

    def __init__(self, host: str, port: int | None) -> None:
        self.host, self.port = host, port
        where = f"{host}:{port}" if port else host
        super().__init__(f"cannot reach {where}")


class ChecksumMismatch(InvalidInput):
    code = "checksum_mismatch"

    def __init__(self, expected: str, actual: str) -> None:
        self.expected, self.actual = expected, actual
        super().__init__(f"sha256 of the body is {actual}, the request said {expected}")


class InvalidStream(InvalidInput):
    """A stream definition that is wrong, or whose broker cannot be reached."""

    code = "invalid_stream"

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        super().__init__(detail)


class BadRequest(SuricateError):
    code = "bad_request"


class InvalidCursor(BadRequest):
    code = "invalid_cursor"

    def __init__(self, cursor: str) -> None:
        self.cursor = cursor
        super().__init__("invalid or expired pagination cursor")


class UploadIncomplete(BadRequest):
    code = "upload_incomplete"

    def __init__(self, expected: int | None, received: int) -> None:
        self.expected, self.received = expected, received
        detail = f" of {expected}" if expected is not None else ""
        super().__init__(f"upload cut off after {received}{detail} bytes; nothing was stored")


class Conflict(SuricateError):
    code = "conflict"


class AlreadyExists(Conflict):
    code = "already_exists"

    def __init__(self, kind: str, name: str) -> None:
        self.kind, self.name = kind, name
        super().__init__(f"{kind} {name!r} already exists")


class InUse(Conflict):
    code = "in_use"


class Unauthenticated(SuricateError):
    code = "unauthenticated"


class PermissionDenied(SuricateError):
    code = "permission_denied"


class CsrfFailed(PermissionDenied):
    """A cookie-authenticated call that changes something came without the session's token."""

    code = "csrf_failed"


class ExecutionNodeError(SuricateError):
    code = "execution_node_error"

    def __init__(self, reason: str, detail: str) -> None:
        self.reason, self.detail = reason, detail
        super().__init__(f"the execution node could not do it ({reason}): {detail}")


class QuotaExceeded(SuricateError):
    """A user or tenant already uses all of a quota (sessions, runs, processors, kernels)."""

    code = "quota_exceeded"

    def __init__(self, quota: str, limit: int, detail: str = "") -> None:
        self.quota, self.limit = quota, limit
        super().__init__(
            f"quota {quota} exceeded: the limit is {limit}"
            + (f" ({detail})" if detail else "")
            + "; stop something first, or ask an administrator for more"
        )


class SandboxUnavailable(SuricateError):
    """Kernels cannot be sandboxed as the settings ask (a start-up error of a node)."""

    code = "sandbox_unavailable"

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"cannot sandbox kernels as configured: {reason}")


class StoreLocked(SuricateError):
    code = "store_locked"

    def __init__(self, path: object) -> None:
        self.path = path
        super().__init__(
            f"another suricate server is already using the object store at {path}; "
            "stop it or set SURICATE_DATA_DIR to another directory"
        )


class ObjectStoreUnavailable(SuricateError):
    """The object store (S3) failed a call: bucket missing, credentials refused, unreachable."""

    code = "object_store_unavailable"

    def __init__(self, url: str, reason: object) -> None:
        self.url = url
        super().__init__(f"object store {url} failed: {reason}")


class TooLarge(SuricateError):
    code = "too_large"


class UploadTooLarge(TooLarge):
    code = "upload_too_large"

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"upload exceeds the limit of {limit} bytes; nothing was stored")


class BodyTooLarge(TooLarge):
    code = "body_too_large"

    def __init__(self, limit: int, setting: str) -> None:
        self.limit, self.setting = limit, setting
        super().__init__(f"the request body exceeds the limit of {limit} bytes ({setting})")


class TooManyAttempts(SuricateError):
    """Too many tries (of a password, say) too fast: wait ``retry_after`` seconds."""

    code = "too_many_attempts"

    def __init__(self, retry_after: int, message: str) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class MalformedMessage(SuricateError):
    """A message between processes does not decode to its type: a bug or a foreign sender."""

    code = "malformed_message"

    def __init__(self, problem: str) -> None:
        self.problem = problem
        super().__init__(f"malformed message: {problem}")


class NodeError(SuricateError):
    """Raised on an execution node; the node answers the frontend with it as a reply."""

    code = "node_error"


class StreamError(NodeError):
    """A stream cannot be reached or read: a clear message for the user."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class KernelDied(NodeError):
    """The kernel process ended while it was being used."""

    code = "kernel_died"

    def __init__(
        self,
        exit_code: int | None,
        memory_limit_mb: int | None = None,
        memory_peak_mb: int | None = None,
    ) -> None:
        self.exit_code = exit_code
        self.memory_limit_mb, self.memory_peak_mb = memory_limit_mb, memory_peak_mb
        if memory_limit_mb is not None:
            peak = f" (peak {memory_peak_mb} MiB)" if memory_peak_mb is not None else ""
            super().__init__(
                f"the kernel was killed: its processes needed more than its memory limit of "
                f"{memory_limit_mb} MiB{peak}; it was restarted and its variables are lost"
            )
            return
        how = "was killed" if exit_code is not None and exit_code < 0 else "exited"
        detail = f" (exit code {exit_code})" if exit_code is not None else ""
        super().__init__(
            f"the kernel {how}{detail}, e.g. os._exit() or a crash; it was restarted "
            "and its variables are lost"
        )


class SetupFailed(NodeError):
    """A processor's notebook cells raised before it could handle a message."""

    code = "setup_failed"

    def __init__(
        self, ename: str, evalue: str, traceback: str = "", cell: int | None = None
    ) -> None:
        self.ename, self.evalue, self.traceback, self.cell = ename, evalue, traceback, cell
        super().__init__(f"{ename}: {evalue}")
