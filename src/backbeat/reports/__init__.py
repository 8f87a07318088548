"""reports layer (see docs/ARCHITECTURE.md)."""
