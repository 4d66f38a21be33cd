"""pyrender/PyOpenGL are imported on the first render only, and ``PYOPENGL_PLATFORM`` is set only then,
only if the user has not set it (issue 14: importing the library configured OpenGL for the whole process)."""

import os
import subprocess
import sys

import pytest

#: Every package a user imports, and the modules that draw (they must still not import OpenGL at import).
MODULES = ("hmr_flow", "hmr_flow.fitting", "hmr_flow.models", "hmr_flow.prior", "hmr_flow.render", "hmr_flow.cli",
           "hmr_flow.models.visualise", "hmr_flow.prior.grid", "hmr_flow.fitting.outputs")


def _python(code: str, platform: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYOPENGL_PLATFORM"}
    if platform is not None:
        env["PYOPENGL_PLATFORM"] = platform
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)


def test_importing_the_library_leaves_opengl_alone():
    code = (f"import sys, os\nimport {', '.join(MODULES)}\n"
            "assert 'pyrender' not in sys.modules and 'OpenGL' not in sys.modules, 'OpenGL imported'\n"
            "assert 'PYOPENGL_PLATFORM' not in os.environ, os.environ['PYOPENGL_PLATFORM']\n")
    result = _python(code, None)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(("given", "expected"), [(None, "egl"), ("glx", "glx")])
def test_first_render_sets_the_platform_only_when_unset(given, expected):
    code = ("import os, sys\nfrom hmr_flow.render import load_pyrender\n"
            "assert 'pyrender' not in sys.modules\nload_pyrender()\n"
            "assert 'pyrender' in sys.modules\nprint(os.environ['PYOPENGL_PLATFORM'])\n")
    result = _python(code, given)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [expected]
