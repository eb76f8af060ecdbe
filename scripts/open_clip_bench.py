"""Times open_clip's ViT-B/32 image tower in PyTorch (random weights: the same compute as the
pretrained model, which cannot be downloaded here) on batches of 64 frames of 224x224 u8 RGB,
preprocessed as vlmgym's CLIP backend does (scale to [0, 1], OpenAI mean/std), to compare with
`vlmgym bench reward` ("CLIP ViT-B/32 (random weights)") in the same session.

Written for this repo as a timing harness. Run through scripts/open_clip_bench.sh, which
makes the virtual environment. Prints JSON with frames/s.
"""

import argparse
import json
import time

import numpy as np
import open_clip
import torch

MEAN = torch.tensor([0.48145466, 0.4578275, 0.40821073]).view(1, 3, 1, 1)
STD = torch.tensor([0.26862954, 0.26130258, 0.27577711]).view(1, 3, 1, 1)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model, _, _ = open_clip.create_model_and_transforms("ViT-B-32", pretrained=None)
    model.eval()
    frames = np.random.default_rng(0).integers(0, 256, (args.batch, 224, 224, 3), dtype=np.uint8)

    def embed():
        x = torch.from_numpy(frames).permute(0, 3, 1, 2).float() / 255.0
        x = (x - MEAN) / STD
        e = model.encode_image(x)
        return e / e.norm(dim=-1, keepdim=True)

    with torch.inference_mode():
        embed()  # warm up
        start = time.perf_counter()
        for _ in range(args.repeats):
            embed()
        secs = time.perf_counter() - start
    print(json.dumps({
        "model": "open_clip ViT-B-32 (random weights), PyTorch " + torch.__version__,
        "batch": args.batch,
        "repeats": args.repeats,
        "threads": args.threads,
        "frames_per_second": args.batch * args.repeats / secs,
        "ms_per_batch": secs * 1000 / args.repeats,
    }, indent=2))


if __name__ == "__main__":
    main()
