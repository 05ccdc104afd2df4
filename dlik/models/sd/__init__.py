"""Stable Diffusion 1.x / 2.x (StableDiffusionPipeline folders) through the shared UNet
latent-diffusion adapter."""
