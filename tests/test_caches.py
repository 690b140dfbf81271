"""numba's compiled kernels are cached in a folder named by the kernels' sources: numba checks a cached kernel
against its own file only, so a kernel calling one in another file (harmonize's loop calls kernels.py's
products) would otherwise keep the old callee's machine code after an upgrade changed it."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import bridge
from bridge import caches


def test_a_change_to_any_kernel_file_names_a_new_cache_folder(tmp_path):
    root = Path(bridge.__file__).parent
    for name in caches.KERNEL_FILES:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(root / name, tmp_path / name)
    assert caches.source_digest(caches.KERNEL_FILES, str(tmp_path)) == caches.source_digest(caches.KERNEL_FILES)
    seen = {caches.source_digest(caches.KERNEL_FILES)}
    for name in caches.KERNEL_FILES:  # a callee (kernels.py) as much as a caller (harmonize_kernels.py)
        f = tmp_path / name
        f.write_bytes(f.read_bytes() + b"\n# changed\n")
        seen.add(caches.source_digest(caches.KERNEL_FILES, str(tmp_path)))
    assert len(seen) == len(caches.KERNEL_FILES) + 1


def test_a_fresh_process_caches_there_unless_told_where(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "CADENZA_CACHE", "XDG_CACHE_HOME")}
    env["HOME"] = str(tmp_path)
    code = "import bridge.generation.kernels, os; print(os.environ['NUMBA_CACHE_DIR'])"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.strip() == str(tmp_path / ".cache" / "cadenza" / "numba" / caches.source_digest(caches.KERNEL_FILES))
    env["CADENZA_CACHE"] = str(tmp_path / "cadenza")  # Cadenza's cache folder moved: the kernels go with it
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.strip() == str(tmp_path / "cadenza" / "numba" / caches.source_digest(caches.KERNEL_FILES))
    env["NUMBA_CACHE_DIR"] = str(tmp_path / "mine")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.strip() == str(tmp_path / "mine")


def test_whichever_kernel_file_a_process_imports_first_numba_caches_in_the_kernels_folder(tmp_path):
    """numba reads its cache folder once, when it is first imported: every file with kernels names the folder
    before it imports numba, so the first of them a process imports decides nothing (a model's weights are laid
    out with int16.py before kernels.py is imported)."""
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "CADENZA_CACHE", "XDG_CACHE_HOME")}
    env["HOME"] = str(tmp_path)
    want = str(tmp_path / ".cache" / "cadenza" / "numba" / caches.source_digest(caches.KERNEL_FILES))
    for name in caches.KERNEL_FILES:
        module = "bridge." + name[:-3].replace("/", ".")
        code = f"import {module}, numba; print(numba.config.CACHE_DIR)"
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        assert out.stdout.strip() == want, module


def test_one_process_at_a_time_adds_a_kernel_to_the_cache(tmp_path):
    """A process that has compiled a new version of a cached kernel waits to write it while another holds the
    lock beside the kernel's index (two processes adding versions at once could take the same data file), then
    writes it: a third process finds both versions in the cache and compiles nothing."""
    import fcntl
    import time

    script = tmp_path / "twice.py"
    script.write_text("import sys\nfrom bridge import caches\ncaches.use_kernel_cache()\nfrom numba import njit\n\n\n"
                      "@njit(cache=True)\ndef twice(x):\n    return x + x\n\n\n"
                      "for a in sys.argv[1:]:\n    print(twice(int(a) if a.isdigit() else float(a)))\n"
                      "print(sum(twice.stats.cache_misses.values()))\n")
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba"),
           "PYTHONPATH": str(Path(bridge.__file__).parents[1])}
    run = [sys.executable, str(script)]
    assert subprocess.run(run + ["2"], env=env, capture_output=True, text=True, check=True).stdout.split() == ["4", "1"]
    [index] = (tmp_path / "numba").rglob("*.nbi")
    with open(f"{index}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        p = subprocess.Popen(run + ["1.5"], env=env, stdout=subprocess.PIPE, text=True)
        flock = {"x86_64": "73", "aarch64": "32"}.get(os.uname().machine)  # flock(2)'s number
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and p.poll() is None:  # compiled, then waiting in flock(2)
            syscall = Path(f"/proc/{p.pid}/syscall").read_text().split()[:1] if Path(f"/proc/{p.pid}").exists() else []
            if syscall == [flock]:
                break
            time.sleep(0.05)
        assert p.poll() is None, "it wrote the cache while another process held the lock"
        assert len(list((tmp_path / "numba").rglob("*.nbc"))) == 1
    assert p.communicate(timeout=60)[0].split() == ["3.0", "1"]
    assert subprocess.run(run + ["2", "1.5"], env=env, capture_output=True, text=True,
                          check=True).stdout.split() == ["4", "3.0", "0"]  # both versions from the cache


def test_kernels_call_kernels_with_no_literal_number_and_no_global_array():
    """docs/architecture.md: a kernel calls another with no literal number (numba compiles a version of the callee
    for each literal: `cadenza warm` compiled 18 of int16's blocks) and no module-level array (read as a read-only
    constant: another version). Read from the kernel files' source (bridge/caches.py's KERNEL_FILES)."""
    import ast

    def jitted(node) -> bool:
        return isinstance(node, ast.FunctionDef) and any(
            ast.unparse(d.func if isinstance(d, ast.Call) else d).split(".")[-1] == "njit" for d in node.decorator_list)

    trees = {name: ast.parse((Path(bridge.__file__).parent / name).read_text()) for name in caches.KERNEL_FILES}
    kernels = {n.name for tree in trees.values() for n in ast.walk(tree) if jitted(n)}
    assert {"sample_row", "qdot_add", "chunk", "judge", "scan_track"} <= kernels
    found = []
    for name, tree in trees.items():
        arrays = {t.id for n in tree.body if isinstance(n, ast.Assign) and isinstance(n.value, ast.Call)
                  and ast.unparse(n.value.func).startswith("np.") for t in n.targets if isinstance(t, ast.Name)}
        for fn in filter(jitted, ast.walk(tree)):
            for call in ast.walk(fn):
                if not isinstance(call, ast.Call) or ast.unparse(call.func).split(".")[-1] not in kernels:
                    continue
                for a in call.args:
                    v = a.operand if isinstance(a, ast.UnaryOp) else a
                    if (isinstance(v, ast.Constant) and isinstance(v.value, (bool, int, float))
                            or isinstance(a, ast.Name) and a.id in arrays):
                        found.append(f"{name}:{call.lineno}: {ast.unparse(call)}")
    assert found == []
