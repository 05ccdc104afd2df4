"""bf16 text encoders / VAE vs fp32 on the embedded tiny models: one image, 3 prompts, rk4 25
steps, 2 shared probes (the table in docs/text-to-image.md). Run with OMP_NUM_THREADS=1."""

import time

import torch

import dlik
from dlik.data.image_sets import ShapesImageSet

SETTINGS = (("float32", "float32"), ("bfloat16", "float32"), ("float32", "bfloat16"))


def main() -> None:
    """Print each setting's bpd per prompt and its largest difference from fp32."""
    torch.set_num_threads(1)
    it = ShapesImageSet("clevr_shapes", n_items=1).items()[0]
    prompts = [it.payload["prompt"], "a blue sphere", "a green cylinder"]
    for model in ("sdxl_tiny", "sd3_tiny"):
        res = {}
        for text, vae in SETTINGS:
            t0 = time.time()
            ad = dlik.load_model(model, device="cpu", text_dtype=text, vae_dtype=vae)
            df = dlik.score(ad, [it.payload["image_path"]], prompts, solver="rk4_25steps",
                            n_probes=2)
            res[(text, vae)] = df["bpd"].to_numpy()
            print(model, text, vae, df["bpd"].round(6).tolist(), f"{time.time() - t0:.0f}s")
        ref = res[SETTINGS[0]]
        for (text, vae), v in res.items():
            print(f"{model} text={text} vae={vae}: max|dbpd|={abs(v - ref).max():.2e}, max|d"
                  f"(delta vs true)|={abs((v - v[0]) - (ref - ref[0])).max():.2e}")


if __name__ == "__main__":
    main()
