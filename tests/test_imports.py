"""Importing the core package must not pull in streamlit (the lessons' logic runs without the UI)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bn_core_does_not_import_streamlit(tmp_path):
    # A stand-in `streamlit` first on the path: any import of it, direct or indirect, is cheap
    # and shows in sys.modules; the last line shows the check can see such an import.
    (tmp_path / "streamlit").mkdir()
    (tmp_path / "streamlit" / "__init__.py").write_text("STAND_IN = True\n")
    code = (                                    # every module of the package, lessons included
        "import importlib, pkgutil, sys, bn_core\n"
        "names = [m.name for m in pkgutil.walk_packages(bn_core.__path__, 'bn_core.')]\n"
        "for name in names: importlib.import_module(name)\n"
        "print('streamlit' in sys.modules, 'bn_core.lab.views' in sys.modules)\n"
        "import streamlit\n"
        "print('streamlit' in sys.modules, streamlit.STAND_IN)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:2] == ["False True", "True True"]
