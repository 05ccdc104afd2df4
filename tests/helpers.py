"""Shared test constants (imported by tests; fixtures live in conftest.py)."""

# A tiny Grad-TTS (official hyper-parameter names), for tests that need weights in seconds.
TINY = dict(n_vocab=149, spk_emb_dim=16, n_enc_channels=16, filter_channels=32,
            filter_channels_dp=16, n_heads=2, n_enc_layers=2, enc_kernel=3, enc_dropout=0.1,
            window_size=4, n_feats=80, dec_dim=8, beta_min=0.05, beta_max=20.0, pe_scale=1000)
