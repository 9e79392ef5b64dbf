"""The HTTP surface: webhook routes, the helpers that answer FreeClimb, and CLI commands."""
