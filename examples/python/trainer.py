#!/usr/bin/env python3
"""A trainer in plain Python (standard library only) that follows StabilityTools' status-file contract.

Run it under supervision, and it shows on the dashboard like the built-in trainer:

    Start-TrainingProcess -FilePath python3 -ArgumentList ./examples/python/trainer.py, --epochs, 5
    Wait-Training

It trains a logistic regression on synthetic data with plain SGD. Everything it writes goes in its run's folder,
$STABILITY_RUN_DIR (runs/<run_id>/, which its supervisor passes with $STABILITY_RUN_ID): training_status.json (with
the heartbeat and progress counter the supervisor watches for hangs), model_metrics.json, one line per epoch in
metrics.jsonl (with custom scalars beside the standard fields), a checkpoint every epoch, and its own parameters and
final metrics in run.json, where Get-TrainingRun and Compare-TrainingRun find them. It resumes from its checkpoint
after a restart, and on SIGTERM finishes the step, checkpoints and exits. See docs/status-files.md for the contract.
"""
import argparse, datetime, fcntl, json, math, os, random, secrets, signal, socket, sys, time

# --- the contract (docs/status-files.md) -------------------------------------------------------------------------

def _now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat()

def _json_safe(v):
    # JSON has no NaN or Infinity: the contract writes them as strings.
    if isinstance(v, float) and not math.isfinite(v):
        return "NaN" if v != v else ("Infinity" if v > 0 else "-Infinity")
    if isinstance(v, dict):
        return {k: _json_safe(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_json_safe(x) for x in v]
    return v

def _rewrite(path, schema, change):
    """Lock <file>.lock, read the document (if any), write change(old) as the next seq to a new <file>.tmp-<pid>-<random>
    (never through a link), fsync, rename over <file>: readers never see a torn document, writers never lose each other's."""
    lock = os.open(path + ".lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            with os.fdopen(os.open(path, os.O_RDONLY | os.O_NOFOLLOW), "rb") as f:
                old = json.load(f)
        except (OSError, ValueError):
            old = {}
        doc = {**change(old), "schema": schema, "seq": old.get("seq", 0) + 1, "written_at": _now(),
               "writer": {"pid": os.getpid(), "host": socket.gethostname()}}
        tmp = f"{path}.tmp-{os.getpid()}-{secrets.token_hex(6)}"
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600), "w", encoding="utf-8") as f:
            json.dump(_json_safe(doc), f, allow_nan=False)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        os.close(lock)

def write_status(path, doc, schema):
    """The whole document anew (training_status.json, model_metrics.json)."""
    _rewrite(path, schema, lambda old: doc)

def update_status(path, changes, schema):
    """Only these fields, keeping the ones others wrote (run.json: the start wrote it); a dict field is merged."""
    def merge(old):
        doc = dict(old)
        for key, value in changes.items():
            doc[key] = {**doc.get(key, {}), **value} if isinstance(value, dict) and isinstance(doc.get(key), dict) else value
        return doc
    _rewrite(path, schema, merge)

def append_line(path, record):
    """One record, one write, under the same lock; a fragment left by a dead writer is ended first."""
    line = (json.dumps(_json_safe(record), allow_nan=False) + "\n").encode("utf-8")
    lock = os.open(path + ".lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o600)
        try:
            size = os.fstat(fd).st_size
            if size > 0 and os.pread(fd, 1, size - 1) != b"\n":
                line = b"\n" + line
            os.write(fd, line)
        finally:
            os.close(fd)
    finally:
        os.close(lock)

# --- the training ----------------------------------------------------------------------------------------------

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
    ap.add_argument("--state-dir", default=os.environ.get("STABILITY_HOME"))
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--samples", type=int, default=4000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--step-delay", type=float, default=0.002, help="seconds to sleep per step, to make the run watchable")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    if not args.state_dir:
        print("trainer.py: no state directory: pass --state-dir or set STABILITY_HOME", file=sys.stderr)
        return 78
    if args.epochs < 1 or args.samples < 10 or args.batch < 1:
        print("trainer.py: --epochs, --samples and --batch must be positive (samples at least 10)", file=sys.stderr)
        return 78

    # The run the supervisor gives (every restart of the service continues it); run by hand, a run of its own.
    run_id = os.environ.get("STABILITY_RUN_ID") or f"py-{args.seed}-{args.epochs}"
    run_dir = os.environ.get("STABILITY_RUN_DIR") or os.path.join(args.state_dir, "runs", run_id)
    os.makedirs(run_dir, mode=0o700, exist_ok=True)
    status_path = os.path.join(run_dir, "training_status.json")
    metrics_path = os.path.join(run_dir, "model_metrics.json")
    history_path = os.path.join(run_dir, "metrics.jsonl")
    run_path = os.path.join(run_dir, "run.json")
    checkpoint = os.path.join(run_dir, "checkpoint.json")
    # Its own parameters, in run.json beside what the start recorded (service, experiment, tags).
    update_status(run_path, {"run_id": run_id, "state": "running", "started": _now(), "trainer": "examples/python/trainer.py",
                             "host": socket.gethostname(), "device": "cpu",
                             "parameters": {"model": "logistic", "epochs": args.epochs, "samples": args.samples,
                                            "batch": args.batch, "lr": args.lr, "seed": args.seed}}, "training_run/1")

    stop = {"requested": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(requested=True))
    signal.signal(signal.SIGINT, lambda *_: stop.update(requested=True))

    rows = make_data(args.samples, args.seed)
    split = int(len(rows) * 0.8)
    train, valid = rows[:split], rows[split:]
    w, b, epoch_done = [0.0, 0.0, 0.0], 0.0, 0
    try:
        with open(checkpoint, encoding="utf-8") as f:
            saved = json.load(f)
        w, b, epoch_done = saved["w"], saved["b"], saved["epoch"]
    except (OSError, ValueError, KeyError):
        pass  # no (valid) checkpoint: start from scratch

    steps_per_epoch = math.ceil(len(train) / args.batch)
    total_steps = steps_per_epoch * args.epochs
    progress, started, last_write, grad_norm = 0, time.monotonic(), 0.0, 0.0
    loss, acc = evaluate(w, b, valid)

    def status(state, epoch, step, sps, running=True, error=None):
        remaining = total_steps - step
        write_status(status_path, {
            "is_running": running, "current_epoch": epoch, "total_epochs": args.epochs, "loss": loss, "accuracy": acc,
            "last_update": _now(), "model_path": checkpoint, "error_message": error, "state": state, "run_id": run_id,
            "step": step, "total_steps": total_steps, "samples_per_sec": sps,
            "eta_seconds": remaining * args.batch / sps if sps > 0 else None, "device": "cpu",
            "heartbeat": _now(), "progress": progress, "pid": os.getpid()}, "training_status/1")

    status("running", epoch_done, epoch_done * steps_per_epoch, 0.0)
    rng = random.Random(args.seed + epoch_done)
    epoch = epoch_done
    for epoch in range(epoch_done + 1, args.epochs + 1):
        rng.shuffle(train)
        epoch_start, seen, epoch_loss = time.monotonic(), 0, 0.0
        for i in range(0, len(train), args.batch):
            batch = train[i:i + args.batch]
            gw, gb = [0.0] * len(w), 0.0
            for x, y in batch:
                err = sigmoid(sum(wi * xi for wi, xi in zip(w, x)) + b) - y
                gw = [g + err * xi for g, xi in zip(gw, x)]
                gb += err
            grad_norm = math.sqrt(sum((g / len(batch)) ** 2 for g in gw) + (gb / len(batch)) ** 2)
            w = [wi - args.lr * g / len(batch) for wi, g in zip(w, gw)]
            b -= args.lr * gb / len(batch)
            seen += len(batch)
            progress += 1
            time.sleep(args.step_delay)
            if time.monotonic() - last_write > 0.5:
                last_write = time.monotonic()
                status("running", epoch, (epoch - 1) * steps_per_epoch + i // args.batch + 1, seen / max(time.monotonic() - epoch_start, 1e-9))
            if stop["requested"]:
                break
        if stop["requested"]:
            break  # the epoch was not finished: the checkpoint keeps the last whole epoch
        loss, acc = evaluate(w, b, valid)
        sps = seen / max(time.monotonic() - epoch_start, 1e-9)
        tmp = f"{checkpoint}.tmp-{os.getpid()}-{secrets.token_hex(6)}"
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600), "w", encoding="utf-8") as f:
            json.dump({"w": w, "b": b, "epoch": epoch}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, checkpoint)
        # The epoch's record goes in only once its checkpoint is durable, so a resumed run never repeats it.
        append_line(history_path, {"time": _now(), "run_id": run_id, "kind": "epoch", "epoch": epoch,
                                   "step": epoch * steps_per_epoch, "val_loss": loss, "val_accuracy": acc,
                                   "samples_per_sec": sps,
                                   # Any named scalar beyond the standard fields.
                                   "scalars": {"grad_norm": grad_norm, "weight_norm": math.sqrt(sum(wi * wi for wi in w))}})
        write_status(metrics_path, {"run_id": run_id, "epoch": epoch, "step": epoch * steps_per_epoch, "val_loss": loss,
                                    "val_accuracy": acc, "samples_per_sec": sps, "model": "logistic"}, "model_metrics/1")
        status("running", epoch, epoch * steps_per_epoch, sps)

    if stop["requested"]:
        status("stopped", epoch - 1, (epoch - 1) * steps_per_epoch, 0.0, running=False)
        update_status(run_path, {"state": "stopped", "ended": _now()}, "training_run/1")
        return 0
    status("completed", args.epochs, total_steps, 0.0, running=False)
    update_status(run_path, {"state": "completed", "ended": _now(), "epochs": args.epochs,
                             "final": {"val_loss": loss, "val_accuracy": acc, "grad_norm": grad_norm}}, "training_run/1")
    print(f"trainer.py: completed {args.epochs} epochs, validation accuracy {acc:.3f}")
    return 0

if __name__ == "__main__":
    sys.exit(main())
