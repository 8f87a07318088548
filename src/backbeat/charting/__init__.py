"""charting layer (see docs/ARCHITECTURE.md)."""
