"""Suricate: self-hosted, multi-tenant Analytics-as-a-Service."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("suricate")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["Client", "__version__"]


def __getattr__(name: str) -> object:
    # The client pulls in httpx; keep `import suricate` light for the server and kernels.
    if name == "Client":
        from suricate.kernel.client import Client

        return Client
    raise AttributeError(name)
