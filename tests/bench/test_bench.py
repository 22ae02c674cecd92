"""Smoke test of the benchmark suite at tiny sizes: it runs, prints measured/target lines, writes JSON.
No timing assertions: speed targets live in benchmarks/, not in tests."""
import json

import pytest
import torch

from ftlab.bench.__main__ import TOOLS, main
from ftlab.bench.timing import Workload, build_model, synthetic, train_flops_per_image
from ftlab.bench.plain import Tutorial
from ftlab.bench.suite import BenchConfig, part5


def test_quick_suite_prints_ratios_and_writes_a_json_record(tmp_path, capsys):
    record = main(["--quick", "--parts", "1,2,3,4,6", "--device", "cpu", "--out", str(tmp_path),
                   "--lessons", str(tmp_path / "no-lessons")])
    out = capsys.readouterr().out
    assert "[1] throughput ftlab / hand-tuned plain" in out and "/ target >= 0.95x" in out
    assert "[2] " in out and "SKIPPED (needs CUDA" in out
    assert "[3] head-only epoch" in out and "/ target >= 20x" in out
    assert "frozen groups" in out and "speed-up" in out
    assert "[6] lesson wall time: SKIPPED (no notebooks" in out
    saved = json.loads((tmp_path / record["path"].rsplit("/", 1)[1]).read_text())
    assert saved["environment"]["torch"] == torch.__version__
    figures = {f["part"]: f for f in saved["figures"]}
    assert figures[1]["measured"] > 0 and figures[1]["detail"]["warm-up loss gap"] < 1e-4
    assert figures[3]["detail"]["ftlab mode"] == "cached features"
    assert figures[2]["measured"] is None and len(saved["tables"][0]["rows"]) == 6


def test_the_gpu_parts_baseline_and_flop_count_run_on_the_cpu():
    w = Workload("glyphnet", 32, 8, 2)
    model = build_model(w)
    assert 1e6 < train_flops_per_image(model, 32, torch.device("cpu")) < 1e9
    loss = Tutorial(model, synthetic(model, 16, 32), 8, torch.device("cpu")).epoch()
    assert loss > 0


def test_every_single_benchmark_is_a_module_of_ftlab_bench_with_its_own_flags(capsys):
    for name, (module, _) in TOOLS.items():
        with pytest.raises(SystemExit) as done:
            main([name, "--help"])
        assert done.value.code == 0 and f"python -m ftlab.bench {name}" in capsys.readouterr().out, module
    with pytest.raises(SystemExit):
        main(["cache_breakdown"])
    err = capsys.readouterr().err
    assert "unknown benchmark 'cache_breakdown'; choose one of cache-breakdown, dashboard-overhead" in err
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "python -m ftlab.bench dashboard-overhead" in capsys.readouterr().out, "the suite's help lists them"


@pytest.mark.slow
def test_the_dashboard_part_runs_its_benchmark_in_a_process_of_its_own():
    (figure,) = part5(BenchConfig(quick=True), torch.device("cpu"))
    assert figure.measured is not None and figure.measured < 1, figure.line()
    assert figure.detail["command"] == "-m ftlab.bench dashboard-overhead --steps 10 --pairs 1"
    assert 0 <= figure.detail["redraw share"] < 1
