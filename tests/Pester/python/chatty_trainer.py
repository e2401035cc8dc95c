"""A trainer on the stabilitytools library that prints a numbered line per step (issue #22's chaos test).

Each line is printed (and flushed) first, then written to the --truth file: a line in the truth file was printed, so
the captured log must hold it, whatever happened to the supervisor that was reading the service's output meanwhile.
"""
import argparse
import json
import os

import stabilitytools as stability

ap = argparse.ArgumentParser()
ap.add_argument("--epochs", type=int, default=10)
ap.add_argument("--steps", type=int, default=20)
ap.add_argument("--step-delay", type=float, default=0.02)
ap.add_argument("--truth", required=True)
args = ap.parse_args()


def save(state, f):
    f.write(json.dumps(state).encode())


def load(f):
    return json.loads(f.read())


with stability.run(total_epochs=args.epochs, steps_per_epoch=args.steps, heartbeat_interval=0.25) as run:
    checkpoint = run.resume(load)
    weight = checkpoint.state["weight"] if checkpoint else 0
    with open(args.truth, "a", buffering=1) as truth:
        for epoch in run.epochs():
            for _ in range(args.steps):
                run.stop_event.wait(args.step_delay)
                weight += 1
                line = f"line {os.getpid()} {epoch} {weight}"
                print(line, flush=True)
                truth.write(line + "\n")
                run.step(loss=1.0 / weight, samples=8)
            run.log(epoch=epoch, loss=1.0 / weight, weight=weight)
            run.checkpoint({"weight": weight}, epoch=epoch, save=save)
