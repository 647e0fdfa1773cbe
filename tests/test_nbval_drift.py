"""nbval really compares: a notebook whose stored output no longer matches what the cell
prints must fail, and the same notebook with the right output must pass."""

import subprocess
import sys

import nbformat


def make_notebook(path, stored: str):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(
        "from vaecourse.kit.profiles import profile\nprint(profile('full').z_dim * 2)"
    )
    cell.execution_count = 1
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=stored)]
    nb.cells = [cell]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)


def run_nbval(path):
    # run in the notebook's folder so the project's pytest.ini does not apply
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--nbval",
            "--nbval-current-env",
            "-p",
            "no:cacheprovider",
            "-q",
            path.name,
        ],
        cwd=path.parent,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_nbval_fails_on_changed_output_and_passes_on_right_one(tmp_path):
    good, bad = tmp_path / "good.ipynb", tmp_path / "bad.ipynb"
    make_notebook(good, "512\n")
    make_notebook(bad, "513\n")
    r_good, r_bad = run_nbval(good), run_nbval(bad)
    assert r_good.returncode == 0, r_good.stdout + r_good.stderr
    assert r_bad.returncode == 1 and "1 failed" in r_bad.stdout, r_bad.stdout
