"""From results CSVs to what a reader sees: the tables (`study_tables.TABLES`, used by
`dlik tables` and `dlik report`), plots (`plots.PLOTS`), statistics (bootstrap, resolution),
the paper's numbers beside ours and the report. Reads CSVs only; never runs a model
(docs/code-map.md)."""
