"""SD3-style rectified-flow text-to-image models (StableDiffusion3Pipeline folders)."""
