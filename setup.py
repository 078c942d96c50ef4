"""Puts the SuperCollider quark (supercollider/RaveForce) into the wheel as package data,
`raveforce/quark/`, so `raveforce sclang` and `raveforce quark-path` work from an installed wheel.
Everything else is in pyproject.toml."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

QUARK = Path(__file__).resolve().parent / "supercollider" / "RaveForce"


class BuildPyWithQuark(build_py):
    def run(self):
        super().run()
        if QUARK.is_dir() and not getattr(self, "editable_mode", False):  # editable: found in the tree
            shutil.copytree(QUARK, Path(self.build_lib) / "raveforce" / "quark", dirs_exist_ok=True)


setup(cmdclass={"build_py": BuildPyWithQuark})
