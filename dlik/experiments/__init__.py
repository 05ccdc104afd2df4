"""Study builders: each turns a config into likelihood jobs."""
