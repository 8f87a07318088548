"""formats layer (see docs/ARCHITECTURE.md)."""
