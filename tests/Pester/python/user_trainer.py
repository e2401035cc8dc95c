"""A user's own trainer, written only against the stabilitytools library: what a team with a training loop writes.

Its "model" is a counter that grows by one per step, so every epoch's record says where training was: after epoch e
the weight is e * steps, whatever kills and resumes happened in between. Checkpoints go through a save/load pair of
its own (JSON), as torch.save/torch.load would.
"""
import argparse
import json

import stabilitytools as stability

ap = argparse.ArgumentParser()
ap.add_argument("--epochs", type=int, default=10)
ap.add_argument("--steps", type=int, default=20)
ap.add_argument("--step-delay", type=float, default=0.02)
ap.add_argument("--lr", type=float, default=0.05)
args = ap.parse_args()


def save(state, f):
    f.write(json.dumps(state).encode())


def load(f):
    return json.loads(f.read())


with stability.run(total_epochs=args.epochs, steps_per_epoch=args.steps, heartbeat_interval=0.25) as run:
    run.params(lr=args.lr, optimizer={"name": "sgd", "momentum": 0.9}, steps=args.steps)
    checkpoint = run.resume(load)
    weight = checkpoint.state["weight"] if checkpoint else 0
    for epoch in run.epochs():
        for _ in range(args.steps):
            run.stop_event.wait(args.step_delay)
            weight += 1
            run.step(loss=1.0 / weight, samples=8)
        run.log(epoch=epoch, loss=1.0 / weight, val_accuracy=weight / (args.epochs * args.steps), weight=weight,
                grad_norm=0.5 / epoch)
        run.checkpoint({"weight": weight}, epoch=epoch, save=save)
