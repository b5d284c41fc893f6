"""The flatten point on every Nth timm model and a sample of Hugging Face model types.

    python -m benchmarks.flatten_sweep --every 40 [--hf bert,gpt2,...] [--json out.jsonl]

Each timm model is built by ``inspect_model("timm:NAME")`` (meta, pretrained=False, the
default input from its pretrained config). A classification model meets the goal when its
flatten point feeds ``model.get_classifier()`` (through Identity, Dropout, norms: the
consumer chain ends there; a features-only model, whose classifier is Identity, passes the
features through it) and the flatten row sits in no stage or block. Hugging Face types are
built from their default configs (``hf:TYPE``, the base model) and listed with their answer:
a flatten point, or why there is none. The last lines give the share that meets the goal and
each exception.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import warnings
from typing import Any

# A dotted name component that is a model's body rather than its head.
_BODY = re.compile(
    r"^(stages?|blocks?|layers?|levels?|network|features|encoder|transformer|body|stem)$"
    r"|^(layer|stage|block)s?_?\d+$"
)

DEFAULT_HF = (
    "bert,gpt2,llama,mixtral,qwen2_moe,bart,t5,vit,dinov2,convnext,swin,canine,mamba,"
    "whisper,clip_vision_model,resnet,segformer,deit,beit,mobilevit"
)


def in_body(name: str) -> bool:
    return any(_BODY.match(part) for part in name.split("."))


def classifier_name(model: Any) -> str | None:
    """The dotted name of ``model.get_classifier()`` in ``model``, None when it has none."""
    get = getattr(model, "get_classifier", None)
    if get is None:
        return None
    head = get()
    return next((n for n, m in model.named_modules() if m is head), None)


def sweep_timm(name: str) -> dict[str, Any]:
    import timm
    import torch

    from netinspect import inspect_model

    t0 = time.perf_counter()
    out: dict[str, Any] = {"target": f"timm:{name}"}
    try:
        with warnings.catch_warnings(), torch.device("meta"):
            warnings.simplefilter("ignore")
            model = timm.create_model(name, pretrained=False)
        out["classifier"] = classifier_name(model)
        report = inspect_model(f"timm:{name}")
    except Exception as exc:  # a model that does not build or run is a result too
        out["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}"
        return out
    out.update(describe(report))
    flat = report.flatten
    chain = [c["name"] for c in out.get("chain", [])]
    if flat is None:
        out["meets"] = False
        out["why"] = "no flatten point: " + str(out.get("absent_reason"))
    elif in_body(flat.name):
        out["meets"] = False
        out["why"] = f"flatten row {flat.name} sits in the body"
    elif out["classifier"] is None:
        out["meets"] = False
        out["why"] = "the model has no get_classifier()"
    elif not any(c == out["classifier"] or c.startswith(out["classifier"] + ".") for c in chain):
        # A classifier that is a ModuleList of heads (crossvit) is reached through a member.
        out["meets"] = False
        out["why"] = f"the chain {chain} does not reach {out['classifier']}"
    else:
        out["meets"] = True
    out["seconds"] = round(time.perf_counter() - t0, 2)
    return out


def describe(report: Any) -> dict[str, Any]:
    flat, search = report.flatten, report.flatten_search
    out: dict[str, Any] = {
        "outputs": [list(s) for s in report.outputs[:3]],
        "batch_tracking": search.batch_tracking if search else None,
        "absent_reason": search.absent_reason if search else None,
        "token_reshapes": len(search.token_reshapes) if search else 0,
    }
    if flat is not None:
        out["flatten"] = [flat.name, list(flat.input_shape), list(flat.output_shape)]
        out["chain"] = [{"name": c.name, "type": c.type} for c in flat.consumer_chain]
        consumer = flat.consumer
        out["consumer"] = None if consumer is None else [consumer.name, consumer.matches]
    return out


def sweep_hf(model_type: str) -> dict[str, Any]:
    from netinspect import inspect_model

    t0 = time.perf_counter()
    out: dict[str, Any] = {"target": f"hf:{model_type}"}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            report = inspect_model(f"hf:{model_type}")
    except Exception as exc:
        out["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}"
        return out
    out.update(describe(report))
    out["seconds"] = round(time.perf_counter() - t0, 2)
    return out


def _line(r: dict[str, Any]) -> str:
    if "error" in r:
        answer = "ERROR " + r["error"]
    elif r.get("flatten"):
        name, src, dst = r["flatten"]
        head = (r.get("consumer") or ["-"])[0]
        answer = f"{name} {src} -> {dst} feeds {head} [{r['batch_tracking']}]"
    else:
        answer = f"none: {r['absent_reason']}"
    mark = "" if "meets" not in r else ("ok  " if r["meets"] else "MISS")
    return f"{mark:4} {r['target']}: {answer}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--every", type=int, default=40, help="every Nth timm model name")
    parser.add_argument("--hf", default=DEFAULT_HF, help="comma-separated HF model types")
    parser.add_argument("--json", help="also write one JSON line per model here")
    args = parser.parse_args()
    import timm

    names = timm.list_models()[:: args.every]
    jobs = [(sweep_timm, n) for n in names]
    jobs += [(sweep_hf, t) for t in args.hf.split(",") if t]
    out = open(args.json, "w", encoding="utf-8") if args.json else None  # noqa: SIM115
    rows = []
    for sweep, name in jobs:  # one line per model as it finishes: a long sweep shows progress
        r = sweep(name)
        rows.append(r)
        print(_line(r), flush=True)
        if out is not None:
            out.write(json.dumps(r) + "\n")
            out.flush()
    if out is not None:
        out.close()
    timm_rows = [r for r in rows if r["target"].startswith("timm:")]
    ran = [r for r in timm_rows if "error" not in r]
    met = [r for r in ran if r.get("meets")]
    print(
        f"\ntimm: {len(met)}/{len(ran)} classification models meet the goal "
        f"({100 * len(met) / max(len(ran), 1):.0f}%); {len(timm_rows) - len(ran)} did not run"
    )
    for r in ran:
        if not r.get("meets"):
            print(f"  exception: {r['target']}: {r['why']}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
