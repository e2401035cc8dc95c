"""A trial of a sweep, on the stabilitytools library: its settings arrive as arguments ({lr}, {hidden} in
-ArgumentList), its loss is a known function of them, so a test knows which trial is best and which the median rule
must stop. Each start of a process appends one line to --starts (trial, settings, pid, CUDA_VISIBLE_DEVICES): the
ground truth of how many times a trial ran and on which GPUs.
"""
import argparse
import json
import math
import os

import stabilitytools as stability

ap = argparse.ArgumentParser()
ap.add_argument("--lr", type=float, required=True)
ap.add_argument("--hidden", type=int, default=32)
ap.add_argument("--epochs", type=int, default=4)
ap.add_argument("--epoch-seconds", type=float, default=0.3)
ap.add_argument("--starts", required=True)
ap.add_argument("--marker", default="")
ap.add_argument("--affinity", help="a file to append the cores this process may run on after its last epoch")
args = ap.parse_args()

with open(args.starts, "a", encoding="utf-8") as starts:
    starts.write(json.dumps({"trial": os.environ.get("STABILITY_TRIAL"), "service": os.environ.get("STABILITY_SERVICE"),
                             "lr": args.lr, "hidden": args.hidden, "pid": os.getpid(),
                             "cuda": os.environ.get("CUDA_VISIBLE_DEVICES"),
                             "params": os.environ.get("STABILITY_TRIAL_PARAMETERS")}) + "\n")


def save(state, f):
    f.write(json.dumps(state).encode())


def load(f):
    return json.loads(f.read())


# The loss falls with each epoch towards a floor set by how far lr is from 1e-3 (and a little by hidden): lr = 1 is
# the worst trial from its first epoch on.
floor = abs(math.log10(args.lr) + 3) + 10.0 / args.hidden
with stability.run(total_epochs=args.epochs, steps_per_epoch=1, heartbeat_interval=0.25) as run:
    run.params(lr=args.lr, hidden=args.hidden)
    checkpoint = run.resume(load)
    for epoch in run.epochs():
        if run.stop_event.wait(args.epoch_seconds):
            break
        run.step(loss=floor + 1.0 / epoch, samples=8)
        run.log(epoch=epoch, loss=floor + 1.0 / epoch, val_loss=floor + 1.0 / epoch)
        run.checkpoint({"epoch": epoch}, epoch=epoch, save=save)

if args.affinity:
    # After the last epoch: by then its supervisor has pinned it (a sweep with -CpusPerTrial).
    with open(args.affinity, "a", encoding="utf-8") as out:
        out.write(json.dumps({"trial": os.environ.get("STABILITY_TRIAL"), "cores": sorted(os.sched_getaffinity(0))}) + "\n")
