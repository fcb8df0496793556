"""The GPU recipe: strong teachers trained from scratch in one short run, their predictions brought back.

On one GPU (bf16, data and augmentation on the device), trains ``--archs`` in turn within
``--minutes`` in all, each on its share of the time: the learning rate follows a cosine of the
elapsed share, so the schedule fits whatever the GPU's speed. After each, its predictions on
every training and validation crop, averaged over the 8 test-time views ``moodcast train``
uses for teachers (identity, zoom 1.1 and 0.93, shift 2 px, each with its mirror), are written
to ``OUT/teachers.npz`` at once, so a run cut short keeps what it finished. The 2 MB student
is then distilled here: ``teacher_file`` in the training config (config/train-emotion-gpu.toml).

Needs torch and numpy + OpenCV (for the pack); no Keras, no dataset: the pack carries it.

    .venv/bin/python -m moodcast.training.pack ../shared/data/fer2013/archive.zip .cache/gpu/fer2013.npz
    # on the GPU machine (device tool: carry .cache/gpu):
    PYTHONPATH=. python -m moodcast.training.gpu_teachers --pack .cache/gpu/fer2013.npz --out "$OUT" --minutes 8
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from moodcast.training.pack import read_pack

# ---------------------------------------------------------------------------------------------
# Models: ResNets for 48 px grey crops (3x3 stem, no early pooling: 48 -> 24 -> 12 -> 6) and a VGG.


class Block(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.skip = (
            nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
            if stride != 1 or cin != cout
            else nn.Identity()
        )

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(y)) + self.skip(x))


class ResNet(nn.Module):
    def __init__(self, blocks: tuple[int, ...], width: int = 64, classes: int = 7):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU())
        layers, cin = [], width
        for stage, count in enumerate(blocks):
            cout = width * 2**stage
            for i in range(count):
                layers.append(Block(cin, cout, 2 if stage and i == 0 else 1))
                cin = cout
        self.body = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2), nn.Linear(cin, classes))

    def forward(self, x):
        return self.head(self.body(self.stem(x)))


def vgg(widths: tuple[int, ...] = (64, 128, 256, 512), classes: int = 7) -> nn.Module:
    layers, cin = [], 1
    for stage, w in enumerate(widths):
        for _ in range(2):
            layers += [nn.Conv2d(cin, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU()]
            cin = w
        if stage < len(widths) - 1:
            layers.append(nn.MaxPool2d(2))
    head = [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.3), nn.Linear(cin, 512), nn.ReLU(), nn.Dropout(0.3)]
    return nn.Sequential(*layers, *head, nn.Linear(512, classes))


ARCHS = {
    "resnet18": lambda: ResNet((2, 2, 2, 2)),
    "resnet34": lambda: ResNet((3, 4, 6, 3)),
    "wide-resnet18": lambda: ResNet((2, 2, 2, 2), width=96),
    "vgg13": vgg,
    "toy": lambda: ResNet((1,), width=8),  # the CPU smoke test
}


# ---------------------------------------------------------------------------------------------
# Augmentation on the device: one affine warp per crop (rotation, zoom, shift, mirror), then
# brightness/contrast, random erasing and mixup.


def augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """``x``: (B, 1, 48, 48) float in [0, 1]."""
    n, dev = len(x), x.device

    def uniform(low, high):
        return torch.rand(n, generator=gen, device=dev) * (high - low) + low

    angle = uniform(-15, 15) * math.pi / 180
    scale = uniform(0.85, 1.15)
    flip = torch.where(torch.rand(n, generator=gen, device=dev) < 0.5, -1.0, 1.0)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack(
        [
            torch.stack([cos * flip, -sin, uniform(-0.12, 0.12)], 1),
            torch.stack([sin * flip, cos, uniform(-0.12, 0.12)], 1),
        ],
        1,
    )
    grid = F.affine_grid(theta, x.shape, align_corners=False)
    x = F.grid_sample(x, grid, padding_mode="reflection", align_corners=False)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = (x - mean) * uniform(0.7, 1.3).view(-1, 1, 1, 1) + mean + uniform(-0.2, 0.2).view(-1, 1, 1, 1)
    erase = torch.rand(n, generator=gen, device=dev) < 0.25
    if erase.any():
        ys, xs = torch.meshgrid(torch.arange(48, device=dev), torch.arange(48, device=dev), indexing="ij")
        cy, cx, half = uniform(0, 48), uniform(0, 48), uniform(4, 9)
        box = ((ys - cy.view(-1, 1, 1)).abs() < half.view(-1, 1, 1)) & (
            (xs - cx.view(-1, 1, 1)).abs() < half.view(-1, 1, 1)
        )
        x = torch.where((box & erase.view(-1, 1, 1)).unsqueeze(1), uniform(0, 1).view(-1, 1, 1, 1), x)
    return x.clamp(0, 1)


def views(x: torch.Tensor) -> list[torch.Tensor]:
    """training.augment.test_time_views(x, 8) on the device (OpenCV's warps, replicated borders)."""
    out = [x]
    for zoom in (1.1, 0.93):
        out.append(_warp(x, torch.tensor([[1 / zoom, 0, 0], [0, 1 / zoom, 0]], device=x.device)))
    out.append(_warp(x, torch.tensor([[1, 0, -2 * 2 / 48], [0, 1, 0]], device=x.device)))
    return out + [v.flip(-1) for v in out]


def _warp(x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    grid = F.affine_grid(theta.expand(len(x), 2, 3), x.shape, align_corners=False)
    return F.grid_sample(x, grid, padding_mode="border", align_corners=False)


# ---------------------------------------------------------------------------------------------


@dataclass
class Recipe:
    archs: tuple[str, ...] = ("resnet18", "wide-resnet18", "vgg13", "resnet34")
    minutes: float = 8.0  # all teachers together, predictions included
    batch: int = 256
    lr: float = 0.1  # SGD, Nesterov momentum 0.9
    weight_decay: float = 5e-4
    label_smoothing: float = 0.1
    mixup: float = 0.2  # Beta(a, a); 0: off
    soft_weight: float = 0.2  # of FER+'s vote shares in each target (as the shipped model's step 2)
    seed: int = 0
    limit: int = 0  # train on the first N training crops only (smoke runs); predictions cover all
    reserve_s: float = 20.0  # for the first teacher's predictions; then the last one's time
    results: dict = field(default_factory=dict)


def train_one(arch: str, seconds: float, pack, recipe: Recipe, device: torch.device, seed: int):
    torch.manual_seed(seed)
    gen = torch.Generator(device=device).manual_seed(seed)
    n = recipe.limit or len(pack.train)
    x = torch.from_numpy(pack.train[:n]).to(device).unsqueeze(1)
    hard = F.one_hot(torch.from_numpy(pack.train_labels[:n]).to(device), 7).float()
    soft = torch.from_numpy(pack.train_soft[:n]).to(device)
    y = (1 - recipe.soft_weight) * hard + recipe.soft_weight * soft
    y = y * (1 - recipe.label_smoothing) + recipe.label_smoothing / 7
    model = ARCHS[arch]().to(device).to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(
        model.parameters(), lr=recipe.lr, momentum=0.9, nesterov=True, weight_decay=recipe.weight_decay
    )
    bf16 = device.type == "cuda"
    start, steps, epochs = time.monotonic(), 0, 0
    model.train()
    while True:
        order = torch.randperm(len(x), generator=gen, device=device)
        for i in range(0, len(x) - recipe.batch + 1, recipe.batch):
            share = (time.monotonic() - start) / seconds
            if share >= 1:
                return model, {
                    "arch": arch,
                    "epochs": epochs,
                    "steps": steps,
                    "seconds": round(time.monotonic() - start, 1),
                }
            for group in opt.param_groups:  # warm-up over the first 3%, then cosine to 0
                group["lr"] = recipe.lr * min(share / 0.03, 0.5 * (1 + math.cos(math.pi * share)))
            idx = order[i : i + recipe.batch]
            xb, yb = augment(x[idx].float() / 255, gen), y[idx]
            if recipe.mixup:
                lam = float(np.random.default_rng((seed, steps)).beta(recipe.mixup, recipe.mixup))
                perm = torch.randperm(len(xb), generator=gen, device=device)
                xb, yb = lam * xb + (1 - lam) * xb[perm], lam * yb + (1 - lam) * yb[perm]
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                logits = model((xb * 2 - 1).contiguous(memory_format=torch.channels_last))
            loss = torch.sum(-yb * F.log_softmax(logits.float(), 1), 1).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            steps += 1
        epochs += 1


@torch.no_grad()
def predict(model: nn.Module, images: np.ndarray, device: torch.device, batch: int = 1024) -> np.ndarray:
    """Class probabilities averaged over the 8 views, (N, 7) float32."""
    model.eval()
    out = []
    for i in range(0, len(images), batch):
        x = torch.from_numpy(images[i : i + batch]).to(device).unsqueeze(1).float() / 255
        total = 0
        for v in views(x):
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
                total = total + F.softmax(model((v * 2 - 1).contiguous(memory_format=torch.channels_last)).float(), 1)
        out.append((total / 8).cpu().numpy())
    return np.concatenate(out)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pack", required=True, help="from python -m moodcast.training.pack")
    p.add_argument("--out", required=True)
    p.add_argument("--minutes", type=float, default=Recipe.minutes)
    p.add_argument("--archs", default=",".join(Recipe.archs), help=f"comma-separated, of {', '.join(ARCHS)}")
    p.add_argument("--batch", type=int, default=Recipe.batch)
    p.add_argument("--limit", type=int, default=0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--reserve", type=float, default=Recipe.reserve_s, help="seconds kept for the first teacher's predictions"
    )
    args = p.parse_args()
    began = time.monotonic()
    recipe = Recipe(
        archs=tuple(args.archs.split(",")),
        minutes=args.minutes,
        batch=args.batch,
        limit=args.limit,
        seed=args.seed,
        reserve_s=args.reserve,
    )
    unknown = [a for a in recipe.archs if a not in ARCHS]
    if unknown:
        p.error(f"unknown arch {unknown}; known: {', '.join(ARCHS)}")
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.backends.cudnn.benchmark = True
    if device.type == "cpu":
        torch.set_num_threads(1)  # the smoke test, on a CPU shared with other work: spinning threads stall
    pack = read_pack(args.pack)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    deadline, reserve = began + recipe.minutes * 60, recipe.reserve_s
    train_probs, val_probs = [], []
    for k, arch in enumerate(recipe.archs):
        # Each teacher gets an equal share of what is left, less what its predictions will take
        # (measured on the teacher before): the run ends on time on any GPU.
        seconds = (deadline - time.monotonic()) / (len(recipe.archs) - k) - reserve
        if seconds <= 0:
            p.error(f"no time left for {arch} and the teachers after it; raise --minutes")
        model, info = train_one(arch, seconds, pack, recipe, device, recipe.seed + k)
        started = time.monotonic()
        train_probs.append(predict(model, pack.train, device))
        val_probs.append(predict(model, pack.val, device))
        reserve = 1.2 * (time.monotonic() - started)
        info["val_accuracy"] = float((val_probs[-1].argmax(1) == pack.val_labels).mean())
        ensemble = np.mean(val_probs, axis=0)
        recipe.results[arch] = info
        summary = {
            "device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
            "torch": torch.__version__,
            "recipe": asdict(recipe),
            "ensemble_val_accuracy": float((ensemble.argmax(1) == pack.val_labels).mean()),
            "val_split": pack.split,
            "fingerprint": pack.fingerprint,
            "wall_seconds": round(time.monotonic() - began, 1),
        }
        tmp = out / "teachers.tmp.npz"
        np.savez(
            tmp,
            train_probs=np.mean(train_probs, axis=0).astype(np.float32),
            val_probs=ensemble.astype(np.float32),
            each_val_probs=np.stack(val_probs).astype(np.float16),
            fingerprint=np.array(pack.fingerprint),
        )
        os.replace(tmp, out / "teachers.npz")
        (out / "teachers.json").write_text(json.dumps(summary, indent=2))
        print(f"{arch}: {info} ensemble of {k + 1}: {summary['ensemble_val_accuracy']:.2%}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
