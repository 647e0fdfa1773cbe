"""The one subprocess runner: a function's result comes back; a failure says why."""

import os

import pytest

from vaecourse.kit import isolated


def test_a_function_runs_in_a_fresh_process_and_its_result_comes_back():
    assert isolated.run("vaecourse.latent:cube_radius", {"b": 2.0, "z_dim": 300}) == 20.0
    procs = [isolated.start("os:getpid") for _ in range(2)]
    pids = [isolated.finish(p, timeout=60) for p in procs]
    assert len(set(pids)) == 2  # two fresh processes, not this one


def test_a_failing_child_reports_its_error_output():
    with pytest.raises(RuntimeError, match=r"(?s)os:no_such_function.*AttributeError"):
        isolated.run("os:no_such_function", timeout=60)


def test_quiet_stderr_holds_native_writes_back_and_lets_them_out_on_failure(capfd):
    with isolated.quiet_stderr():
        os.write(2, b"E0000 remapper failed\n")  # what TensorFlow's C++ logging does
    assert "remapper" not in capfd.readouterr().err
    with pytest.raises(RuntimeError), isolated.quiet_stderr():
        os.write(2, b"native line before the failure\n")
        raise RuntimeError("boom")
    assert "native line before the failure" in capfd.readouterr().err
