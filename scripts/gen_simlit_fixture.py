#!/usr/bin/env python3
"""Regenerate vlm_reward/tests/fixtures/simlit_embeddings.json.

The reference is sentence-transformers itself (not a re-implementation): it loads the
all-MiniLM-L6-v2 folder that scripts/setup.sh puts in the model cache, embeds a fixed list
of sentences (BERT, mean pooling over the attention mask, L2 normalisation) and writes them
as JSON. The Rust test `vlm_reward/tests/simlit_parity.rs` must match every value to 1e-4.

    python3 -m pip install sentence-transformers
    python3 scripts/gen_simlit_fixture.py

Model folder: ${VLMGYM_MODEL_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/vlmgym/models}/all-MiniLM-L6-v2
"""

import json
import os
import sys
from pathlib import Path

SENTENCES = [
    "pole vertically upright on top of the cart",
    "the car drives in the centre of its lane",
    "the pole has fallen over",
    "a red car on a road",
    "car",
    (
        "a long description of a driving scene: the small blue hatchback keeps to the "
        "middle of the right-hand lane of a wide, sunlit two-lane road lined with trees, "
        "while a truck overtakes it on the left and a cyclist waits at the next crossing"
    ),
]


def model_dir() -> Path:
    root = os.environ.get("VLMGYM_MODEL_DIR") or ""
    if not root:
        cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.environ["HOME"], ".cache")
        root = os.path.join(cache, "vlmgym", "models")
    return Path(root) / "all-MiniLM-L6-v2"


def main() -> int:
    from sentence_transformers import SentenceTransformer
    import sentence_transformers

    path = model_dir()
    if not (path / "model.safetensors").is_file():
        print(f"missing {path}/model.safetensors: run scripts/setup.sh", file=sys.stderr)
        return 1
    model = SentenceTransformer(str(path), device="cpu")
    emb = model.encode(SENTENCES, batch_size=len(SENTENCES), normalize_embeddings=True)
    out = {
        "model": "all-MiniLM-L6-v2",
        "reference": f"sentence-transformers {sentence_transformers.__version__}",
        "max_seq_length": model.max_seq_length,
        "sentences": SENTENCES,
        "embeddings": [[round(float(v), 7) for v in row] for row in emb],
    }
    dest = Path(__file__).resolve().parent.parent / "vlm_reward/tests/fixtures/simlit_embeddings.json"
    dest.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {dest} ({len(SENTENCES)} x {len(emb[0])})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
