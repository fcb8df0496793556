"""Benchmark the pipeline: per-stage latency (p50/p95), frames per second and peak RSS of the full
pipeline on every frame; and, on a clip (``video``), the CPU a device spends at its frame rate and
fps cap with the motion gate and tracking, and what they skipped."""

from __future__ import annotations

import dataclasses
import resource
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from moodcast.edge.config import Config
from moodcast.edge.errors import SourceError
from moodcast.edge.pipeline import WORK_COUNTS, Pipeline
from moodcast.edge.service.framecap import FrameCap
from moodcast.edge.sources.images import IMAGE_SUFFIXES, decode_image

STAGES = ("decode", "motion", "detect", "classify", "recommend")


@dataclass(frozen=True)
class BenchReport:
    input: str
    frames: int
    threads: int
    runtime: str
    faces_per_frame: float
    stages: dict[str, dict[str, float]]  # stage -> {"p50": ms, "p95": ms}
    pipeline_ms_p50: float  # detect + classify + recommend (decode excluded)
    pipeline_ms_p95: float
    fps: float  # end to end, decode included
    rss_mb: float  # peak resident set size of this process

    def as_dict(self) -> dict:
        return dict(self.__dict__)

    def format(self) -> str:
        lines = [
            f"input {self.input}: {self.frames} frames, {self.faces_per_frame:.1f} faces/frame, "
            f"{self.threads} thread(s), {self.runtime}",
            f"{'stage':<12}{'p50 ms':>9}{'p95 ms':>9}",
        ]
        for name, s in self.stages.items():
            lines.append(f"{name:<12}{s['p50']:>9.3f}{s['p95']:>9.3f}")
        lines.append(f"{'pipeline':<12}{self.pipeline_ms_p50:>9.3f}{self.pipeline_ms_p95:>9.3f}   (decode excluded)")
        lines.append(f"fps {self.fps:.1f} (decode included)   peak RSS {self.rss_mb:.1f} MB")
        return "\n".join(lines)


def _frames(path: Path, count: int):
    """(decode ms, RGB frame) pairs: an image decoded from its bytes each time, or video frames."""
    if path.suffix.lower() in IMAGE_SUFFIXES:
        data = path.read_bytes()
        for _ in range(count):
            t = time.perf_counter()
            rgb = decode_image(data, str(path))
            yield (time.perf_counter() - t) * 1e3, rgb
        return
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise SourceError(f"{path}: cannot open as image or video")
    n = 0
    while n < count:
        t = time.perf_counter()
        ok, bgr = capture.read()
        if not ok:
            capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            continue
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        yield (time.perf_counter() - t) * 1e3, rgb
        n += 1
    capture.release()


def full_pipeline(config: Config) -> Pipeline:
    """Every stage on every frame: the motion gate and tracking off."""
    return Pipeline.from_config(
        dataclasses.replace(
            config,
            motion=dataclasses.replace(config.motion, enabled=False),
            tracking=dataclasses.replace(config.tracking, enabled=False),
        )
    )


def run_bench(config: Config, input_path: str | Path, frames: int = 300, warmup: int = 10) -> BenchReport:
    path = Path(input_path)
    if not path.is_file():
        raise SourceError(f"{path}: no such file")
    cv2.setNumThreads(config.runtime.threads)  # OpenCV's resizes count against the thread budget too
    pipeline = full_pipeline(config)
    times: dict[str, list[float]] = {s: [] for s in STAGES}
    faces = 0
    ts = 0.0
    started = time.perf_counter()  # again once the warm-up frames are done
    for i, (decode_ms, rgb) in enumerate(_frames(path, frames + warmup)):
        if i == warmup:
            started = time.perf_counter()
        result = pipeline.process(rgb, ts)
        ts += 0.1
        if i < warmup:
            continue
        times["decode"].append(decode_ms)
        for stage, ms in result.timings_ms.items():
            times[stage].append(ms)
        faces += len(result.faces)
    elapsed = time.perf_counter() - started
    total = sum(np.array(times[s]) for s in STAGES[1:])
    stages = {s: {"p50": float(np.percentile(v, 50)), "p95": float(np.percentile(v, 95))} for s, v in times.items()}
    return BenchReport(
        input=str(path),
        frames=frames,
        threads=config.runtime.threads,
        runtime=pipeline.classifier.model.runtime,
        faces_per_frame=faces / frames,
        stages=stages,
        pipeline_ms_p50=float(np.percentile(total, 50)),
        pipeline_ms_p95=float(np.percentile(total, 95)),
        fps=frames / elapsed,
        rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    )


@dataclass(frozen=True)
class VideoReport:
    input: str
    source_frames: int  # read from the clip
    analysed: int  # kept by the fps cap
    media_s: float
    fps_cap: float
    cpu_ms_per_frame: float  # CPU per analysed frame, its decode and the dropped frames' included
    cpu_share: float  # of one core, at the clip's own frame rate
    work: dict[str, int]  # gated, detections, followed, classified
    stages: dict[str, float]  # mean ms per analysed frame

    def as_dict(self) -> dict:
        return dict(self.__dict__)

    def format(self) -> str:
        w = self.work
        lines = [
            f"clip {self.input}: {self.source_frames} frames over {self.media_s:.1f} s, {self.analysed} analysed "
            f"(fps cap {self.fps_cap:g})",
            f"CPU {self.cpu_ms_per_frame:.2f} ms per analysed frame, {self.cpu_share:.1%} of one core at its rate",
            f"gated {w['gated']}, full detections {w['detections']}, followed {w['followed']}, "
            f"faces classified {w['classified']}",
            "mean ms per analysed frame: " + ", ".join(f"{k} {v:.3f}" for k, v in self.stages.items()),
        ]
        return "\n".join(lines)


def run_video_bench(config: Config, clip: str | Path, passes: int = 1) -> VideoReport:
    """The configured pipeline over ``clip`` as the daemon runs it (media time, the fps cap), all
    frames decoded; CPU is this process's, so run it alone."""
    path = Path(clip)
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise SourceError(f"{path}: cannot open as a video")
    period = 1 / (capture.get(cv2.CAP_PROP_FPS) or 25.0)
    cv2.setNumThreads(config.runtime.threads)
    pipeline = Pipeline.from_config(config)
    cap = FrameCap(config.source)
    work = dict.fromkeys(WORK_COUNTS, 0)
    stages: dict[str, float] = {}
    read = analysed = 0
    result = None
    started = time.process_time()
    for _ in range(passes):
        capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
        while True:
            ok, bgr = capture.read()
            if not ok:
                break
            ts = read * period
            read += 1
            if not cap.keep(ts, result):
                continue
            result = pipeline.process(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), ts)
            analysed += 1
            for key, count in result.work.counts().items():
                work[key] += count
            for stage, ms in result.timings_ms.items():
                stages[stage] = stages.get(stage, 0.0) + ms
    cpu = time.process_time() - started
    capture.release()
    if not analysed:
        raise SourceError(f"{path}: no frame could be read")
    media = read * period
    return VideoReport(
        input=str(path),
        source_frames=read,
        analysed=analysed,
        media_s=media,
        fps_cap=config.source.fps_cap,
        cpu_ms_per_frame=cpu * 1e3 / analysed,
        cpu_share=cpu / media,
        work=work,
        stages={k: v / analysed for k, v in stages.items()},
    )
