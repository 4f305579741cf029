"""Models in a kernel: how they are serialized, and handles that follow an alias as it moves.

``sdk.load_model("name@champion")`` returns a ``ModelHandle``: it answers like the model itself
(``handle.predict(X)``, ``handle["3rd and long"]``, ``len(handle)``) and, in a processor, moves
to the version the alias points at between two chunks of messages, at most a second after the
alias moved. The new version is loaded before it is used; one that fails to load leaves the
old one in place and says so in the processor's logs. ``name/3`` and ``name`` (the latest when
loaded) stay where they are. Every action a processor records carries the versions of the
models loaded in its kernel.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import time
from collections.abc import Iterator
from typing import Any

FOLLOW_EVERY_S = 1.0  # how often a processor asks where its aliases point
# Modules whose types a skops artifact may hold and still be loaded without a pickle.
TRUSTED_MODULES = ("sklearn.", "numpy.", "scipy.", "builtins.", "collections.")


def serialize(model: Any) -> tuple[str, bytes]:
    """The flavor and bytes of a model: JSON when it is plain data, skops for scikit-learn
    estimators it can store, else joblib (a pickle: loaded only inside the tenant's kernels)."""
    if isinstance(model, dict | list | str | int | float | bool) or model is None:
        try:
            return "json", json.dumps(model).encode()
        except (TypeError, ValueError):
            pass
    if type(model).__module__.startswith("sklearn"):
        try:
            import skops.io

            data = skops.io.dumps(model)
            if _trusted(skops.io.get_untrusted_types(data=data)):
                return "skops", data
        except Exception:  # skops cannot store it: fall back to joblib, which can
            pass
    import joblib

    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    return "joblib", buffer.getvalue()


def _trusted(types: list[str]) -> bool:
    return all(t.startswith(TRUSTED_MODULES) for t in types)


def deserialize(flavor: str, data: bytes) -> Any:
    """Load what ``serialize`` stored."""
    if flavor == "json":
        return json.loads(data)
    if flavor == "skops":
        import skops.io

        untrusted = skops.io.get_untrusted_types(data=data)
        if not _trusted(untrusted):
            raise ValueError(f"the skops artifact holds types not trusted here: {untrusted}")
        return skops.io.loads(data, trusted=untrusted)
    if flavor == "joblib":
        import joblib

        return joblib.load(io.BytesIO(data))
    raise ValueError(f"unknown model flavor {flavor!r}")


def parse_ref(ref: str) -> tuple[str, str | None, int | None]:
    """``name``, ``name/3`` or ``name@alias`` as (name, alias, version)."""
    if "@" in ref:
        name, alias = ref.split("@", 1)
        return name, alias, None
    if "/" in ref:
        name, number = ref.rsplit("/", 1)
        if not number.isdigit():
            raise ValueError(f"not a model reference: {ref!r} (use name, name/3 or name@alias)")
        return name, None, int(number)
    return ref, None, None


class ModelHandle:
    """A loaded model version that answers like the model; an alias's handle follows it."""

    def __init__(self, ref: str, version: int, model: Any) -> None:
        self.ref = ref
        self.name, self.alias, _ = parse_ref(ref)
        self.version = version
        self.model = model
        self.failed_version: int | None = None  # a version that would not load: not retried

    def swap(self, version: int, model: Any) -> None:
        self.version, self.model, self.failed_version = version, model, None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["model"], name)

    def __getitem__(self, key: Any) -> Any:
        return self.model[key]

    def __iter__(self) -> Any:
        return iter(self.model)

    def __len__(self) -> int:
        return len(self.model)

    def __contains__(self, key: Any) -> bool:
        return key in self.model

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.model(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<model {self.name} version {self.version}: {self.model!r}>"


class Registry:
    """The models loaded in this kernel, the aliases they follow, and the challenger a
    processor runs in shadow (loaded apart: actions are stamped with the live versions)."""

    def __init__(self) -> None:
        self.handles: list[ModelHandle] = []
        self.shadow: ModelHandle | None = None
        # name -> version: a backtest's pins, which load_model takes over any alias.
        self.pins: dict[str, int] = {}
        self._checked = 0.0

    def add(self, handle: ModelHandle) -> ModelHandle:
        self.handles.append(handle)
        return handle

    def stamp(self) -> dict[str, int]:
        """The versions in use now, by model name (the last loaded wins a tie)."""
        return {h.name: h.version for h in self.handles}

    def live(self, name: str) -> list[ModelHandle]:
        """The handles of a model the handlers use."""
        return [h for h in self.handles if h.name == name]

    @contextlib.contextmanager
    def swapped(self, name: str, version: int, model: Any) -> Iterator[None]:
        """Have every handle of ``name`` answer as ``version`` for a while (a shadow pass)."""
        handles = self.live(name)
        kept = [(h.version, h.model) for h in handles]
        try:
            for h in handles:
                h.version, h.model = version, model
            yield
        finally:
            for h, (v, m) in zip(handles, kept, strict=True):
                h.version, h.model = v, m

    def reset_follow(self) -> None:
        """Look where the aliases point at the next ``follow``, however recent the last look."""
        self._checked = float("-inf")

    def follow(self, client: Any, now: float | None = None) -> None:
        """Move each alias's handle to the version the alias names now (at most once a second)."""
        now = time.monotonic() if now is None else now
        following = [h for h in self.handles if h.alias is not None]
        if self.shadow is not None and self.shadow.alias is not None:
            following.append(self.shadow)
        if not following or now - self._checked < FOLLOW_EVERY_S:
            return
        self._checked = now
        for name in {h.name for h in following}:
            try:
                aliases = client.model(name)["aliases"]
            except Exception as exc:
                print(f"model {name}: cannot see its aliases ({exc}); keeping", file=sys.stderr)
                continue
            for handle in (h for h in following if h.name == name):
                target = aliases.get(handle.alias)
                if target is None and handle is self.shadow:
                    handle.swap(0, None)  # no challenger now: the shadow pass pauses
                if target in (None, handle.version, handle.failed_version):
                    continue
                try:
                    flavor, data, version = client.model_artifact(name, str(target))
                    model = deserialize(flavor, data)
                except Exception as exc:
                    handle.failed_version = target
                    print(
                        f"model {handle.ref}: version {target} did not load "
                        f"({type(exc).__name__}: {exc}); still using version {handle.version}",
                        file=sys.stderr,
                    )
                    continue
                handle.swap(version, model)
                print(f"model {handle.ref}: now version {version}", file=sys.stderr)


registry = Registry()


def package_versions() -> dict[str, str]:
    """The versions of the packages a model depends on, as this kernel has them."""
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": sys.version.split()[0]}
    for name in ("numpy", "pandas", "scikit-learn", "scipy", "joblib", "skops"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found
