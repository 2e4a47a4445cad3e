"""Export a training run to an engine weights folder: `python -m training.export --run RUN --out DIR`.

Writes model.safetensors (torch), model.onnx (onnxruntime) and model.json (bins, config, default
temperature and working size, what it was trained on, and the evaluation metrics if given).
"""
from __future__ import annotations

import argparse
import csv
import json
import subprocess
from pathlib import Path

from engine.color import ChromaBins
from engine.weights import save_bundle
from training.train import checkpoint_model


def git_commit() -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def export(run: Path, out: Path, temperature: float, working_size: int, metrics: Path | None = None,
           data_note: str | None = None, version: str | None = None):
    """Checkpoint in `run` -> weights bundle in `out`."""
    model, state = checkpoint_model(run)
    cfg = state["config"]
    if cfg["loss"] != "ce":
        raise SystemExit("only classification (--loss ce) runs can be exported: the engine predicts bins")
    bins = ChromaBins.from_json(Path(cfg["bins"]).read_text())
    rows = list(csv.DictReader(open(run / "log.csv"))) if (run / "log.csv").exists() else []
    training = {"data": data_note or cfg["data"], "steps": state["step"], "batch": cfg["batch"],
                "crop": cfg["size"], "wall_s": round(state["wall"], 1),
                "images_per_s": round(state["step"] * cfg["batch"] / max(state["wall"], 1e-9), 1),
                "final_loss": float(rows[-1]["loss"]) if rows else None, "commit": git_commit(),
                "config": cfg}
    extra = {"training": training} | ({"version": version} if version else {})
    if metrics:
        extra["metrics"] = json.loads(Path(metrics).read_text())
    return save_bundle(model, bins, out, temperature=temperature, working_size=working_size, extra=extra)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--run", required=True, help="training run folder (with checkpoint.pt)")
    p.add_argument("--out", default="engine/weights", help="weights folder to write (default engine/weights)")
    p.add_argument("--temperature", type=float, required=True,
                   help="the model's default annealed-mean temperature (choose it on validation: training.campaign does)")
    p.add_argument("--working-size", type=int, required=True, help="the model's default working size (long side, px)")
    p.add_argument("--metrics", default=None, help="JSON from training.evaluate to record")
    p.add_argument("--data-note", default=None, help="describe the training data (default: the paths)")
    p.add_argument("--version", default=None, help="the model's version, shown by colorize --version (e.g. v0.3)")
    a = p.parse_args(argv)
    bundle = export(Path(a.run), Path(a.out), a.temperature, a.working_size,
                    Path(a.metrics) if a.metrics else None, a.data_note, a.version)
    print(f"exported step {bundle.meta['training']['steps']} to {bundle.root}")


if __name__ == "__main__":
    main()
