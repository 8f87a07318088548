"""analysis layer (see docs/ARCHITECTURE.md)."""
