"""Study builders: each `Study` turns its config into likelihood jobs and names its CSV
columns and its table (`table = ...`) (docs/code-map.md)."""
