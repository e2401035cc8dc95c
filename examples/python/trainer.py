#!/usr/bin/env python3
"""A trainer of your own in plain Python, supervised by StabilityTools through the stabilitytools package (python/).

Run it under supervision, and it shows on the dashboard like the built-in trainer:

    Start-TrainingProcess -FilePath ./artifacts/python-venv/bin/python -ArgumentList ./examples/python/trainer.py, --epochs, 5
    Wait-Training

(the venv that build.ps1 makes holds the package; any python3 >= 3.9 works too, since this script falls back to the
repository's python/src). It trains a logistic regression on synthetic data with plain SGD, standard library only. The
package does the rest: its run's folder (runs/<run_id>/), the heartbeat and progress counter the supervisor watches for
hangs, one record per epoch in metrics.jsonl with custom scalars, its parameters and final metrics in run.json (where
Get-TrainingRun and Compare-TrainingRun find them), a checkpoint every epoch that a restart resumes from, and a
graceful stop on SIGTERM. docs/trainers.md explains each call.
"""
import argparse
import math
import os
import random
import sys

try:
    import stabilitytools as stability
except ImportError:  # not installed: the package beside this example in the repository
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python", "src"))
    import stabilitytools as stability


def make_data(n, seed):
    rng = random.Random(seed)
    true_w, true_b = [1.5, -2.0, 0.7], 0.3
    rows = []
    for _ in range(n):
        x = [rng.gauss(0, 1) for _ in true_w]
        z = sum(w * v for w, v in zip(true_w, x)) + true_b + rng.gauss(0, 0.8)
        rows.append((x, 1 if z > 0 else 0))
    return rows


def sigmoid(z):
    return 1 / (1 + math.exp(-z)) if z >= 0 else math.exp(z) / (1 + math.exp(z))


def evaluate(w, b, rows):
    loss = correct = 0
    for x, y in rows:
        p = min(max(sigmoid(sum(wi * xi for wi, xi in zip(w, x)) + b), 1e-12), 1 - 1e-12)
        loss -= y * math.log(p) + (1 - y) * math.log(1 - p)
        correct += (p > 0.5) == (y == 1)
    return loss / len(rows), correct / len(rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--state-dir", help="default: $STABILITY_HOME, else ~/.local/state/stability-tools")
    ap.add_argument("--run-id", help="run by hand: the run to start or resume (under a supervisor, its run)")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--samples", type=int, default=4000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--step-delay", type=float, default=0.002, help="seconds to sleep per step, to make the run watchable")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    if args.epochs < 1 or args.samples < 10 or args.batch < 1:
        print("trainer.py: --epochs, --samples and --batch must be positive (samples at least 10)", file=sys.stderr)
        return 78  # EX_CONFIG: its supervisor does not restart into the same mistake

    rows = make_data(args.samples, args.seed)
    split = int(len(rows) * 0.8)
    train, valid = rows[:split], rows[split:]
    steps_per_epoch = math.ceil(len(train) / args.batch)

    with stability.run(args.state_dir, run_id=args.run_id, total_epochs=args.epochs, steps_per_epoch=steps_per_epoch,
                       trainer="examples/python/trainer.py") as run:
        run.params(model="logistic", epochs=args.epochs, samples=args.samples, batch=args.batch, lr=args.lr, seed=args.seed)
        checkpoint = run.resume()  # the newest valid checkpoint (pickle by default; torch.load for PyTorch), or None
        w, b = (checkpoint.state["w"], checkpoint.state["b"]) if checkpoint else ([0.0, 0.0, 0.0], 0.0)

        for epoch in run.epochs():  # the epochs still to train; a SIGTERM ends the loop at the next step
            order = train[:]
            random.Random(args.seed * 1000 + epoch).shuffle(order)  # a function of the epoch alone: a resume replays it
            grad_norm = 0.0
            for i in range(0, len(order), args.batch):
                batch = order[i:i + args.batch]
                gw, gb = [0.0] * len(w), 0.0
                for x, y in batch:
                    err = sigmoid(sum(wi * xi for wi, xi in zip(w, x)) + b) - y
                    gw = [g + err * xi for g, xi in zip(gw, x)]
                    gb += err
                grad_norm = math.sqrt(sum((g / len(batch)) ** 2 for g in gw) + (gb / len(batch)) ** 2)
                w = [wi - args.lr * g / len(batch) for wi, g in zip(w, gw)]
                b -= args.lr * gb / len(batch)
                if args.step_delay:
                    run.stop_event.wait(args.step_delay)  # a sleep that a stop cuts short
                run.step(samples=len(batch))  # progress for hang detection; raises StopRequested on SIGTERM
            val_loss, val_acc = evaluate(w, b, valid)
            # Log the epoch, then checkpoint it: a kill in between retrains it and keeps its first record.
            run.log(epoch=epoch, val_loss=val_loss, val_accuracy=val_acc,
                    grad_norm=grad_norm, weight_norm=math.sqrt(sum(wi * wi for wi in w)))  # any named scalar
            run.checkpoint({"w": w, "b": b}, epoch=epoch)
    print(f"trainer.py: run {run.run_id} {run.outcome}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
