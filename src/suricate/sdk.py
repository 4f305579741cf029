"""``from suricate import sdk``: the in-kernel SDK under its public name (``kernel/sdk.py``)."""

from suricate.kernel.sdk import *  # noqa: F403
from suricate.kernel.sdk import __all__  # noqa: F401
