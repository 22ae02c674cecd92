"""`ftlab pretrain`: the recipe behind GlyphNet's shipped weights, shortened."""
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_shortened_pretraining_recipe_learns_the_source_task():
    out = subprocess.run([sys.executable, "-m", "ftlab.pretrain", "--quick"], capture_output=True, text=True,
                         check=True, timeout=300).stdout
    acc = float(out.split("source-task accuracy:")[1].split()[0])
    assert acc > 0.5, out  # 62 classes: chance is 0.016
