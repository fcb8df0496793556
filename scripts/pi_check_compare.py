"""Compare `moodcast analyze --json` outputs of arm64 legs with the x86-64 run (scripts/pi-check.sh).

Usage: python3 scripts/pi_check_compare.py RUN_DIR [--markdown]
(--markdown: the rows of docs/install-pi.md "The aarch64 check")
RUN_DIR holds x86-<commit>.json (the reference, with x86-versions-<commit>.json) and <suite>-<leg>/
folders written by scripts/pi_check_leg.sh (with `commit`, the commit cloned into the root, and
x86-same-versions.json, x86-64 with the leg's library versions), plus apt-<suite>.json and
root-<suite>.json from pi-check.sh. Writes
RUN_DIR/result.json and prints the summary table. Standard library only (runs on the host's python3).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

BOX_TOLERANCE = 1.0  # pixels


def load_images(path: Path) -> dict[str, dict]:
    """{image file name: entry} from an analyze --json output (its last line)."""
    if not path.exists():
        return {}
    lines = path.read_text().strip().splitlines()
    if not lines:
        return {}
    try:
        doc = json.loads(lines[-1])
    except json.JSONDecodeError:
        return {}
    return {Path(entry["image"]).name: entry for entry in doc.get("images", [])}


def compare(ref: dict[str, dict], got: dict[str, dict]) -> dict:
    """Agreement of one leg with the reference: images, faces, labels, probabilities, boxes."""
    faces = same_label = same_count = 0
    max_prob = max_box = max_score = 0.0
    differences = []
    compared = [name for name in ref if name in got]
    for name in compared:
        want, have = ref[name], got[name]
        if len(have["faces"]) != len(want["faces"]):
            differences.append(f"{name}: {len(have['faces'])} faces, x86-64 {len(want['faces'])}")
            continue
        same_count += 1
        if have["genre"] != want["genre"]:
            differences.append(f"{name}: genre {have['genre']}, x86-64 {want['genre']}")
        for a, b in zip(have["faces"], want["faces"]):
            faces += 1
            same_label += a["emotion"] == b["emotion"]
            if a["emotion"] != b["emotion"]:
                differences.append(f"{name}: {a['emotion']}, x86-64 {b['emotion']}")
            max_prob = max(max_prob, *(abs(a["probabilities"][k] - b["probabilities"][k]) for k in b["probabilities"]))
            max_box = max(max_box, *(abs(p - q) for p, q in zip(a["box"], b["box"])))
            max_score = max(max_score, abs(a["score"] - b["score"]))
    return {
        "images": len(compared),
        "images_not_analysed": len(ref) - len(compared),
        "images_same_faces": same_count,
        "faces": faces,
        "faces_same_emotion": same_label,
        "max_probability_difference": round(max_prob, 4),
        "max_box_difference_px": round(max_box, 2),
        "max_detector_score_difference": round(max_score, 4),
        "identical": not differences and max_prob == 0.0 and max_box == 0.0 and max_score == 0.0,
        "differences": differences[:20],
    }


def agreement(a: dict | None) -> str:
    if not a:
        return "-"
    return (
        f"{a['faces_same_emotion']}/{a['faces']} faces, {a['images_same_faces']}/{a['images']} images, "
        f"max dp {a['max_probability_difference']}"
    )


CLASSES = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")


def crops_correct(images: dict[str, dict]) -> dict:
    """The validation crops (named <class>_<file>) whose first face has the crop's class. Not the
    model's accuracy (docs/models.md: whole crops, no detector); only whether two runs do as well."""
    crops = {k: v for k, v in images.items() if k.split("_")[0] in CLASSES}
    with_face = [k for k, v in crops.items() if v["faces"]]
    correct = sum(crops[k]["faces"][0]["emotion"] == k.split("_")[0] for k in with_face)
    return {"crops": len(crops), "with_a_face": len(with_face), "correct": correct}


def read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def main(run_dir: str, markdown: bool = False) -> int:
    run = Path(run_dir)
    refs = {p.stem[4:]: load_images(p) for p in run.glob("x86-*.json") if not p.name.startswith("x86-versions")}
    result = {
        "date": (run / "date").read_text().strip() if (run / "date").exists() else None,
        "host": read_json(run / "host.json"),
        "x86_64": {
            c: {
                "versions": read_json(run / f"x86-versions-{c}.json"),
                "images": len(r),
                "crops_correct": crops_correct(r),
            }
            for c, r in refs.items()
        },
        "apt": {p.stem[4:]: read_json(p) for p in sorted(run.glob("apt-*.json"))},
        "roots": {p.stem[5:]: read_json(p) for p in sorted(run.glob("root-*.json"))},
        "legs": {},
    }

    rows = []
    for leg_dir in sorted(p for p in run.iterdir() if p.is_dir()):
        leg = read_json(leg_dir / "leg.json")
        if leg is None:
            continue
        leg["versions"] = read_json(leg_dir / "versions.json")
        abi = leg_dir / "abi.txt"
        leg["abi"] = abi.read_text().strip().splitlines()[-1:] if abi.exists() else []
        leg["largest_mb"] = (
            [line.split("\t")[::-1] for line in (leg_dir / "sizes.txt").read_text().splitlines()[:6]]
            if (leg_dir / "sizes.txt").exists()
            else []
        )
        got = load_images(leg_dir / "analyze.json")
        commit_file = leg_dir / "commit"
        leg["commit"] = commit = commit_file.read_text().strip() if commit_file.exists() else None
        ref = refs.get(commit, {})
        # vs the x86-64 run of the same commit (the checkout's .venv: other library versions)
        leg["agreement"] = compare(ref, got) if got and ref else None
        # vs x86-64 with this leg's numpy, OpenCV and runtime versions: the architecture alone
        same = load_images(leg_dir / "x86-same-versions.json")
        pins = leg_dir / "x86-same-versions.pins"
        leg["x86_same_versions"] = pins.read_text().strip() if pins.exists() else None
        leg["agreement_same_versions"] = compare(same, got) if got and same else None
        leg["crops_correct"] = crops_correct(got)
        leg["crops_correct_x86_same_versions"] = crops_correct(same) if same else None
        result["legs"][leg_dir.name] = leg
        v = leg["versions"] or {}
        rows.append(
            [
                leg_dir.name,
                v.get("python", "-"),
                f"{v.get('numpy', '-')} ({v.get('numpy_from', '-')})",
                v.get("runtime", "-") + " " + str(v.get("ai_edge_litert") or v.get("tflite_runtime") or ""),
                str(v.get("cv2", "-")),
                f"{leg['pip_rc']} ({leg['pip_s']} s){' resolver errors' if leg['pip_resolver_errors'] else ''}",
                str(leg["venv_mb"]),
                "ok" if leg["abi_rc"] == 0 else "FAILS",
                f"{leg['startup_s']} s",
                f"{leg['analyze_s']} s" + ("" if leg["xnnpack"] else " no XNNPACK"),
                agreement(leg["agreement_same_versions"]),
                agreement(leg["agreement"]),
            ]
        )
    (run / "result.json").write_text(json.dumps(result, indent=1) + "\n")
    if markdown:  # the rows of docs/install-pi.md "The aarch64 check"
        for r in rows:
            print("| " + " | ".join(c.strip().replace("|", "/") for c in r) + " |")
        return 0
    head = [
        "leg",
        "python",
        "numpy",
        "runtime",
        "cv2",
        "pip rc",
        "venv MB",
        "apt numpy ABI",
        "start-up",
        "analyze",
        "vs x86-64, same versions",
        "vs x86-64 .venv",
    ]
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    for r in [head, ["-" * w for w in widths], *rows]:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)))
    for name, leg in result["legs"].items():
        if leg.get("numpy_fix_rc") is not None:
            ok = {0: "ok", None: "-"}
            print(
                f"{name}: numpy ABI with the venv's own numpy {'ok' if leg['abi_rc'] == 0 else 'FAILS'}; "
                f'the old fix (pip install "numpy<2"): rc {leg["numpy_fix_rc"]}, resolver errors '
                f"{leg['numpy_fix_resolver_errors']}, ABI then {ok.get(leg['numpy_fix_abi_rc'], 'FAILS')}; "
                f"the repair (-c constraints/bookworm.txt): rc {leg.get('repair_rc')}, resolver errors "
                f"{leg.get('repair_resolver_errors')}, pip check {ok.get(leg.get('repair_pip_check_rc'), 'FAILS')}, "
                f"ABI then {ok.get(leg.get('repair_abi_rc'), 'FAILS')}"
            )
    for suite, apt in result["apt"].items():
        if apt:
            print(f"apt {suite} arm64: " + ", ".join(f"{k} {v or 'MISSING'}" for k, v in apt.items()))
    for suite, root in result["roots"].items():
        if root:
            print(f"root {suite}: {root}")
    print(f"x86-64: {result['x86_64']}")
    print(f"result: {run / 'result.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], "--markdown" in sys.argv[2:]))
