"""Typed messages between processes, and the buses that carry them."""
