"""Offline audio metrics: WER, ASR, speaker similarity, LogF0 RMSE, MCD."""
