"""The sweep runner: a grid of jobs, the same rows from any executor, resuming, failures."""
from __future__ import annotations

import json

import pytest

from tinygan import backend, sweep
from tinygan.experiments import toy2d

TINY = dict(steps=3, hidden=8, eval_samples=100)


def tiny_jobs(seeds=(0, 1)):
    return sweep.grid(["ring"], seeds=seeds, fixed=TINY, method=["vanilla", "packing"])


def by_key(rows):
    return {r["key"]: r for r in rows}


def test_grid_is_seed_major_and_checks_settings_before_anything_runs():
    jobs = tiny_jobs()
    assert [(j.seed, dict(j.settings)["method"]) for j in jobs] == [
        (0, "vanilla"), (0, "packing"), (1, "vanilla"), (1, "packing")]
    assert len({j.key for j in jobs}) == 4
    assert jobs[0].config().hidden == 8 and jobs[0].config().seed == 0
    with pytest.raises(ValueError, match="unknown setting"):
        sweep.grid("ring", seeds=[0], methd=["vanilla"])
    with pytest.raises(ValueError, match="method must be one of"):
        sweep.grid("ring", seeds=[0], method=["vanila"])
    with pytest.raises(TypeError, match="needs a list of values"):
        sweep.grid("ring", seeds=[0], method="vanilla")
    with pytest.raises(ValueError, match="unknown experiment"):
        sweep.grid("rings", seeds=[0])


def test_a_row_is_what_a_run_of_the_experiment_gives():
    """The runner's default task reproduces toy2d.run to the last bit (the table's rows)."""
    job = sweep.Job.make("grid", seed=3, **TINY, method="vanilla")
    row = sweep._run_task(sweep.train, job)
    summary = toy2d.run(job.config()).summary()
    mine = toy2d.sweep_summary(row)
    for k in ("modes_captured", "high_quality_fraction", "reverse_kl", "counts", "raw",
              "iterations", "dataset", "method", "seed"):
        assert mine[k] == summary[k], k


def test_a_process_pool_gives_the_rows_of_a_sequential_run_and_resumes(tmp_path):
    seq = sweep.run(tiny_jobs(), tmp_path / "seq", workers=1)
    par = sweep.run(tiny_jobs(), tmp_path / "par", workers=2)
    assert by_key(seq).keys() == by_key(par).keys()
    for key, row in by_key(seq).items():
        assert row["metrics"] == by_key(par)[key]["metrics"]
    assert {r["pid"] for r in par} != {r["pid"] for r in seq}  # it did run elsewhere
    saved = json.loads((tmp_path / "par.json").read_text())
    assert len(saved["rows"]) == 4 and "CPUs" in saved["machine"]
    assert "| ring | eval_samples=100, hidden=8, method=packing, steps=3 | 2 |" in \
        (tmp_path / "par.md").read_text()
    # started again with two more seeds: only those run
    seen = []
    rows = sweep.run(tiny_jobs(seeds=(0, 1, 2)), tmp_path / "par", workers=1,
                     progress=lambda row, done, total: seen.append((row["seed"], done, total)))
    assert sorted(s for s, _, _ in seen) == [2, 2] and seen[-1][1:] == (6, 6)
    assert len(rows) == 6


def test_each_finished_job_is_on_disk_and_a_failing_one_does_not_stop_the_others(tmp_path):
    on_disk = []

    def progress(row, done, total):
        on_disk.append(len(json.loads((tmp_path / "s.json").read_text())["rows"]))

    jobs = tiny_jobs()
    with pytest.raises(RuntimeError, match="1 of 4 jobs failed") as info:
        sweep.run(jobs, tmp_path / "s", task=_fails_on_seed_1_packing, workers=1,
                  progress=progress)
    assert "packing" in str(info.value)
    assert on_disk == [1, 2, 3]
    assert len(sweep.load(tmp_path / "s")) == 3
    with pytest.raises(ValueError, match="listed twice"):
        sweep.run(jobs + jobs[:1], tmp_path / "t", workers=1)
    (tmp_path / "bad.json").write_text("[]")
    with pytest.raises(ValueError, match="not a sweep's results file"):
        sweep.load(tmp_path / "bad")


def _fails_on_seed_1_packing(job):
    if job.seed == 1 and dict(job.settings)["method"] == "packing":
        raise RuntimeError("boom")
    return sweep.train(job)


def test_a_run_on_a_time_budget_and_its_threads():
    job = sweep.Job.make("ring", seed=0, seconds=0.2, clock="cpu", threads=1, hidden=8,
                         eval_samples=100)
    row = sweep._run_task(sweep.train, job)
    assert row["steps"] > 0 and row["cpu_time_s"] >= 0.2
    assert "0.2s-cpu/1" in job.key
    with pytest.raises(ValueError, match="clock must be"):
        sweep.Job.make("ring", clock="sun")


def test_blas_threads_are_set_and_restored():
    before = backend.blas_threads()
    if before is None:
        pytest.skip("this NumPy's BLAS is not OpenBLAS: its thread count cannot be asked")
    try:
        assert backend.blas_threads(1) == 1
    finally:
        backend.blas_threads(before)
    assert backend.blas_threads() == before
    with pytest.raises(ValueError, match="positive int"):
        backend.blas_threads(0)


def test_the_benchmarks_set_the_same_thread_variables():
    import importlib.util
    from pathlib import Path
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "harness.py"
    spec = importlib.util.spec_from_file_location("harness", path)
    harness = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(harness)
    assert tuple(harness.thread_env(3)) == backend.THREAD_VARIABLES


@pytest.mark.slow
def test_a_dask_cluster_gives_the_same_rows(tmp_path):
    distributed = pytest.importorskip("distributed")
    seq = sweep.run(tiny_jobs(seeds=(0,)), tmp_path / "seq", workers=1)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        executor = sweep.dask_executor(cluster.scheduler_address)
        try:
            rows = sweep.run(tiny_jobs(seeds=(0,)), tmp_path / "dask", executor=executor)
        finally:
            executor._client.close()
    assert {k: r["metrics"] for k, r in by_key(rows).items()} == \
        {k: r["metrics"] for k, r in by_key(seq).items()}


def test_the_sweep_command(tmp_path, capsys):
    from tinygan.cli import main
    out = tmp_path / "cli"
    assert main(["sweep", "ring", "--grid", "method=vanilla,packing", "--set", "steps=2",
                 "hidden=8", "eval_samples=100", "--seeds", "1", "--workers", "1",
                 "--out", str(out)]) == 0
    assert "[2/2]" in capsys.readouterr().out
    assert len(sweep.load(out)) == 2
    assert main(["sweep", "ring", "--grid", "hidden=abc", "--out", str(out)]) == 2
    assert "hidden must be an integer, got 'abc'" in capsys.readouterr().err
    assert main(["sweep", "ring", "--set", "methd=vanilla", "--out", str(out)]) == 2
    assert "ring has no setting 'methd'; valid: seed, steps, method" in capsys.readouterr().err
