"""A small training-shaped script: what a user's code looks like with trackd.

    python sdk/python/examples/demo_train.py [--epochs 5] [--steps 200]

It fits a noisy line with plain-Python gradient descent (no ML framework needed) and logs
loss, accuracy-like and learning-rate metrics the way a W&B script would.
"""

from __future__ import annotations

import argparse
import math
import random

import trackd as wandb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--steps", type=int, default=200, help="steps per epoch")
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--project", default="demo")
    args = parser.parse_args()

    rng = random.Random(0)
    data = [(x / 100, 3.0 * x / 100 + 0.5 + rng.gauss(0, 0.05)) for x in range(100)]

    with wandb.init(project=args.project, config=vars(args), tags=["demo"]) as run:
        run.define_metric("epoch")
        run.define_metric("val/*", step_metric="epoch", summary="min")
        run.define_metric("train/loss", summary="min,last")
        w, b = 0.0, 0.0
        for epoch in range(args.epochs):
            lr = args.lr * (0.5 ** epoch)
            for _ in range(args.steps):
                x, y = rng.choice(data)
                err = (w * x + b) - y
                w -= lr * err * x
                b -= lr * err
                run.log({"train/loss": err * err, "train/lr": lr, "w": w, "b": b})
            val = sum(((w * x + b) - y) ** 2 for x, y in data) / len(data)
            run.log({"epoch": epoch, "val/loss": val, "val/rmse": math.sqrt(val)})
        run.summary["final_w"] = w
        print(f"run {run.path} ({run.name}): w={w:.3f} b={b:.3f}, "
              f"best val/loss={run.summary['val/loss']['min']:.5f}")


if __name__ == "__main__":
    main()
