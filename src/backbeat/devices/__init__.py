"""devices layer (see docs/ARCHITECTURE.md)."""
