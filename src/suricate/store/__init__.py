"""Persistence: the metadata database, its migrations and the object (blob) stores."""
