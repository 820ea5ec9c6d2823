"""tests/ctest-skips: what tests/run prints after each ctest run, from a
real ctest run of a small project with a passing, a skipped (exit 77) and
a disabled test."""
import os
import subprocess

SRC = os.path.abspath(os.environ.get(
    "KCRON_SOURCE_DIR",
    os.path.join(os.path.dirname(__file__), "..", "..")))
SKIPS = os.path.join(SRC, "tests", "ctest-skips")

PROJECT = """cmake_minimum_required(VERSION 3.25)
project(skips NONE)
enable_testing()
add_test(NAME passes COMMAND sh -c "exit 0")
add_test(NAME no.widget COMMAND sh -c "echo 'skipped: no widget here'; exit 77")
set_tests_properties(no.widget PROPERTIES SKIP_RETURN_CODE 77)
add_test(NAME silent COMMAND sh -c "exit 77")
set_tests_properties(silent PROPERTIES SKIP_RETURN_CODE 77)
add_test(NAME off COMMAND sh -c "exit 1")
set_tests_properties(off PROPERTIES DISABLED TRUE)
"""


def ctest(tmp_path, regex=None):
    src, build = tmp_path / "src", tmp_path / "build"
    if not src.exists():
        src.mkdir()
        (src / "CMakeLists.txt").write_text(PROJECT)
        subprocess.run(["cmake", "-S", str(src), "-B", str(build)],
                       check=True, capture_output=True)
    args = ["ctest", "--test-dir", str(build)]
    if regex:
        args += ["-R", regex]
    p = subprocess.run(args, capture_output=True, text=True)
    # the very complaint: ctest itself calls this a full pass
    assert p.returncode == 0
    out = tmp_path / "ctest.out"
    out.write_text(p.stdout + p.stderr)
    return out, build


def test_skipped_tests_are_named_with_their_reason(tmp_path):
    out, build = ctest(tmp_path)
    assert "100% tests passed" in out.read_text()
    names = tmp_path / "skipped.txt"
    p = subprocess.run([SKIPS, "gcc", str(out), str(build)],
                       capture_output=True, text=True,
                       env=dict(os.environ, KCRON_SKIPPED_FILE=str(names)))
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == [
        "== gcc: 3 tests skipped",
        "   no.widget: no widget here",
        "   silent: (no reason given)",
        "   off: (no reason given)",
    ]
    assert names.read_text().splitlines() == [
        "gcc no.widget", "gcc silent", "gcc off"]


def test_no_skips(tmp_path):
    out, build = ctest(tmp_path, regex="passes")
    p = subprocess.run([SKIPS, "asan", str(out), str(build)],
                       capture_output=True, text=True,
                       env={k: v for k, v in os.environ.items()
                            if k != "KCRON_SKIPPED_FILE"})
    assert p.returncode == 0
    assert p.stdout == "== asan: 0 tests skipped\n"
