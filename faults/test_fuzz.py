"""The device parser under coverage-guided fuzzing (atheris), a fixed number of inputs."""

import subprocess
import sys

import pytest

from devtools.stack import BASE_DIR

pytestmark = pytest.mark.faults

RUNS = 100_000


def test_the_device_parser_survives_coverage_guided_fuzzing(tmp_path):
    pytest.importorskip("atheris")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "tick").write_text(
        '{"type":"tick","seq":1,"ts":"2026-11-28T00:00:00+00:00","power":"off"}'
    )
    result = subprocess.run(
        [sys.executable, "faults/fuzz_protocol.py", f"-runs={RUNS}", "-max_len=4096", str(corpus)],
        cwd=BASE_DIR,
        env={"PYTHONPATH": str(BASE_DIR), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=900,
    )

    assert result.returncode == 0, result.stderr[-3000:]
    assert f"Done {RUNS} runs" in result.stderr
