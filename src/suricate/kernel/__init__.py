"""Code that runs inside a sandboxed kernel: the SDK and the handler runtime.

Standard library and httpx only (pandas and friends lazily, where a call needs them).
"""
