"""Scoring: jobs through an adapter and the engine into rows.

runner.py is the one job loop (resume, shard, batch, pilots, error rows); batches.py holds
what every loop over prepared rows shares (equal-shape batches with a row-by-row retry, the
stacked batch tensors, one probe seed per row); study_run.py runs a study into a results
directory (lock, resume, writer, derived columns, footer); attribution.py and bench.py score
through the same pieces for `dlik attribute` and `dlik bench`.
"""
