"""`feblam bench replay`: the file mode as a replay tool, measured.

The simulator writes a network, its reference lists (about --entries entries in
all) and --reads reads as the JSON Lines files of spec §10, once per set of
options (kept under --data and reused). Then `feblam run` replays them twice,
each time as a process of its own on the embedded mini-cluster: once with the
first tenth of the reads, once with all of them, against the same lists. The
difference between the two runs is the cost of the extra reads alone, so

    reads_per_s  = (N - N/10) / (wall(N) - wall(N/10))

leaves out what both runs pay once: starting the JVM and the mini-cluster,
loading the lists (spec §8), merging the outputs. `fixed_s` is that cost, and
`wall_s` the whole replay of N reads. Peak resident memory is sampled over each
run's process group (Python, the JVM, and the job's Python inside it); the two
runs' peaks show whether memory grows with the number of reads.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from itertools import islice
from pathlib import Path

from feblam.bench.rss import RssSampler, this_machine


@dataclass(frozen=True)
class ReplaySettings:
    reads: int = 1_000_000
    entries: int = 1_000_000
    parallelism: int = 1
    vehicles: int = 50_000
    cameras: int = 1_000
    seed: int = 7
    data: Path = Path("var/bench/replay")

    def __post_init__(self) -> None:
        for name in ("reads", "entries", "parallelism", "vehicles", "cameras"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name} must be at least 1, got {getattr(self, name)}")
        if self.reads < 10:
            raise ValueError(f"--reads must be at least 10 (a tenth of them is replayed first), got {self.reads}")

    @property
    def data_set(self) -> Path:
        """The folder of one data set: every option that changes the files names it."""
        return self.data / f"e{self.entries}-r{self.reads}-v{self.vehicles}-c{self.cameras}-s{self.seed}"


def prepare(settings: ReplaySettings, log) -> Path:
    """The data set's folder, simulated first when it is not there yet."""
    from feblam.bench.e2e import lez_entries_for
    from feblam.simulate.simulation import SimulationSettings, run
    from feblam.simulate.writer import FileSink

    folder = settings.data_set
    done = folder / "done.json"
    if done.is_file():
        log(f"data set {folder} is there; reusing it")
        return folder
    log(f"simulating {settings.reads:,} reads and about {settings.entries:,} reference entries into {folder}")
    started = time.monotonic()
    simulation = SimulationSettings(reads=settings.reads, cameras=settings.cameras, vehicles=settings.vehicles,
                                    lez_entries=lez_entries_for(settings.entries), seed=settings.seed)
    summary = run(simulation, FileSink(folder))
    done.write_text(json.dumps(summary, sort_keys=True, default=str))
    log(f"simulated in {time.monotonic() - started:.0f} s")
    return folder


def _prefix(reads: Path, count: int, out: Path) -> Path:
    with reads.open("rb") as lines, out.open("wb") as head:
        head.writelines(islice(lines, count))
    return out


def replay_once(data: Path, reads: Path, out: Path, parallelism: int) -> dict:
    """One `feblam run` in a process group of its own: its summary, wall time and peak RSS."""
    out.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "feblam.cli", "run", "--reads", str(reads), "--reference",
            str(data / "reference.jsonl"), "--cameras", str(data / "cameras.jsonl"), "--hits", str(out / "hits.jsonl"),
            "--dead-letters", str(out / "dead-letters.jsonl"), "--parallelism", str(parallelism), "--json"]
    started = time.monotonic()
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    sampler = RssSampler(Path("."), interval_s=0.2, groups=[process.pid]).start()
    stdout, stderr = process.communicate()
    wall = time.monotonic() - started
    peak = sampler.stop()
    if process.returncode != 0:
        raise RuntimeError(f"feblam run exited with {process.returncode}:\n{stderr[-3000:]}")
    return {"wall_s": round(wall, 2), "peak_rss_mb": round(peak), "summary": json.loads(stdout.splitlines()[-1])}


def run_replay(settings: ReplaySettings, log) -> dict:
    """The figures of the module doc, as one JSON-ready dict."""
    data = prepare(settings, log)
    work = data / "runs"
    small_count = settings.reads // 10
    small_reads = _prefix(data / "reads.jsonl", small_count, data / f"reads-first-{small_count}.jsonl")
    log(f"replaying {small_count:,} reads ...")
    small = replay_once(data, small_reads, work / "small", settings.parallelism)
    log(f"  {small['wall_s']} s; replaying {settings.reads:,} reads ...")
    full = replay_once(data, data / "reads.jsonl", work / "full", settings.parallelism)
    log(f"  {full['wall_s']} s")
    extra_s = full["wall_s"] - small["wall_s"]
    rate = (settings.reads - small_count) / extra_s if extra_s > 0 else None
    summary = full["summary"]
    return {
        "benchmark": "replay",
        "reads": settings.reads,
        "reference_entries": json.loads((data / "done.json").read_text()).get("reference_updates"),
        "parallelism": settings.parallelism,
        "reads_per_s": None if rate is None else round(rate),
        "wall_s": full["wall_s"],
        "end_to_end_reads_per_s": round(settings.reads / full["wall_s"]),
        "fixed_s": None if rate is None else round(small["wall_s"] - small_count / rate, 1),
        "peak_rss_mb": full["peak_rss_mb"],
        "peak_rss_mb_first_tenth": small["peak_rss_mb"],
        "small_run": {"reads": small_count, "wall_s": small["wall_s"]},
        "hits": summary["hits"],
        "sightings": summary["sightings"],
        "dead_letters": summary["dead_letters"],
        "settings": {key: str(value) if isinstance(value, Path) else value for key, value in asdict(settings).items()},
        "machine": this_machine(),
    }
