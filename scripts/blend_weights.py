"""Weight-space blend of two trained models of one architecture (WiSE-FT, Wortsman et al. 2022):
``alpha`` x FINE-TUNED + (1 - alpha) x START, batch-norm statistics included. A fine-tune for
robustness moved away from the start's clean accuracy; a blend keeps part of each.

    .venv/bin/python scripts/blend_weights.py models/emotion.keras runs/emotion-cam/best.keras 0.7 blend.keras
"""

import sys

import keras

if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    start, tuned = (keras.saving.load_model(p) for p in sys.argv[1:3])
    alpha = float(sys.argv[3])
    tuned.set_weights(
        [alpha * t + (1 - alpha) * s for s, t in zip(start.get_weights(), tuned.get_weights(), strict=True)]
    )
    tuned.save(sys.argv[4])
    print(f"wrote {sys.argv[4]}: {alpha:g} x {sys.argv[2]} + {1 - alpha:g} x {sys.argv[1]}")
