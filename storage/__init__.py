"""Where recordings and per-call state are kept (TinyDB by default)."""
