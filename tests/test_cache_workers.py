"""A plain script -- no ``if __name__ == "__main__":`` guard -- that prepares data with a
worker pool finishes, under every start method the pool uses.

forkserver and spawn children re-run the main script unless told otherwise; a script that
calls ``load_faces`` at top level then blocks in every child on the preparation lock its
parent holds, and the parent waits for them forever.  Each case runs in a subprocess with a
timeout, so a regression fails here instead of hanging CI.
"""

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from vaecourse.kit.data import celeba

TIMEOUT = 90  # seconds; the scripts take a few


def run_script(tmp_path, body: str, env: dict) -> subprocess.CompletedProcess:
    script = tmp_path / "plain_script.py"
    script.write_text(textwrap.dedent(body))
    full_env = {**os.environ, "VAECOURSE_CACHE": str(tmp_path / "cache"), **env}
    proc = subprocess.Popen(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # so a hang can be ended with its worker processes
    )
    try:
        out, _ = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        pytest.fail(f"the plain script hung (killed after {TIMEOUT} s); its output:\n{out}")
    return subprocess.CompletedProcess(proc.args, proc.returncode, out)


START = """
import multiprocessing as mp
import os
from vaecourse.kit.data import parallel

# the start method under test (forkserver is the default where it exists)
parallel.pool_context = lambda: mp.get_context(os.environ["START_METHOD"])
"""


@pytest.mark.parametrize("method", ["forkserver", "spawn"])
def test_load_faces_at_top_level_of_a_plain_script_finishes(tmp_path, method):
    result = run_script(
        tmp_path,
        START
        + """
from vaecourse.kit import profiles
from vaecourse.kit import data

P = profiles.profile("ci")
faces = data.load_faces(P, n_train=200, n_val=64, workers=2)  # 328 images: a pool of 2
print("loaded", len(faces.train), flush=True)
""",
        {"START_METHOD": method},
    )
    assert result.returncode == 0, result.stdout
    assert result.stdout.count("loaded 200") == 1, result.stdout


@pytest.mark.parametrize("method", ["forkserver", "spawn"])
def test_prepare_celeba_at_top_level_of_a_plain_script_finishes(tmp_path, method):
    source = celeba.write_fake_celeba(tmp_path / "celeba", 24, seed=3, workers=1)
    result = run_script(
        tmp_path,
        START
        + """
from vaecourse.kit.data import celeba

celeba.BATCH = 8  # 24 files in 3 jobs: the pool starts as it does for >= 512 files
folder = celeba.prepare_celeba(32, source=os.environ["SOURCE"], workers=2, progress=False)
print("prepared", (folder / "names.txt").read_text().count(".jpg"), flush=True)
""",
        {"START_METHOD": method, "SOURCE": str(source)},
    )
    assert result.returncode == 0, result.stdout
    assert "prepared 24" in result.stdout, result.stdout
