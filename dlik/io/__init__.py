"""Results I/O: CSV writer and provenance."""
