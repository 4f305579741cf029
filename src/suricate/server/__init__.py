"""The frontend process: the ASGI app, its composition root, the REST API and the web UI."""
