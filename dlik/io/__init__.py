"""Results CSVs: the append-only writer, `read_results` (the one reader: tables, report,
merge and run all use it), shard merge, lock files and provenance (docs/code-map.md)."""
