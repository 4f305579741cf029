"""The execution node process: kernels in their sandbox, jobs, processor instances and stream
sources. Node code imports nothing from ``suricate.domain`` or ``suricate.store``."""
