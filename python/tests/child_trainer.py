"""A small trainer written only against the library, driven by the tests as a real process.

Its 'model' is a counter that grows by one per step, so every epoch's record says exactly where training was:
after epoch e the weight is e * steps, whatever kills and resumes happened in between.
"""
import argparse
import sys
import time

import stabilitytools as stability

ap = argparse.ArgumentParser()
ap.add_argument("--state-dir")
ap.add_argument("--run-id", default="child")
ap.add_argument("--epochs", type=int, default=3)
ap.add_argument("--steps", type=int, default=10)
ap.add_argument("--step-delay", type=float, default=0.0)
ap.add_argument("--lr", type=float, default=0.1)
ap.add_argument("--fail-at-epoch", type=int, default=0)
args = ap.parse_args()

with stability.run(args.state_dir, run_id=args.run_id, total_epochs=args.epochs, steps_per_epoch=args.steps,
                   heartbeat_interval=0.2) as run:
    run.params(lr=args.lr, epochs=args.epochs, steps=args.steps)
    resumed = run.resume()
    weight = resumed.state["weight"] if resumed else 0
    print(f"start epoch {run.start_epoch}", flush=True)
    for epoch in run.epochs():
        if epoch == args.fail_at_epoch:
            raise RuntimeError(f"boom at epoch {epoch}")
        for _ in range(args.steps):
            time.sleep(args.step_delay)
            weight += 1
            run.step(loss=1.0 / weight, samples=8)
        run.log(epoch=epoch, loss=1.0 / weight, val_accuracy=min(1.0, weight / 1000), weight=weight)
        run.checkpoint({"weight": weight}, epoch=epoch)
print("done", flush=True)
sys.exit(0)
