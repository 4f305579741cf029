"""The platform's concepts as services: tenancy, objects, notebooks, sessions, runs, streams,
processors. Domain code imports neither ``suricate.node`` nor ``suricate.server``."""
