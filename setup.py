"""The one build step pyproject.toml cannot express (everything else is configured there).

``policies/`` is a top-level folder of the repository, not a Python package. The wheel carries a
copy of it as ``aicc/policies/*.yaml`` (and the working-day calendars as
``aicc/policies/calendars/<year>.yaml``) so that an installed ``aicc`` finds its shipped policies
(``aicc.platform.policy.default_policy_dir``) and calendars (``aicc.platform.workdays``); a
checkout keeps reading ``policies/`` itself.
The sdist carries ``policies/`` too, so a wheel built from it is the same.
"""

from __future__ import annotations

import glob
import os

from setuptools import setup
from setuptools.command.build_py import build_py

POLICY_SOURCE = "policies"
POLICY_TARGET = ("aicc", "policies")


class build_py_with_policies(build_py):
    def _policy_files(self) -> list[str]:
        return sorted(glob.glob(os.path.join(POLICY_SOURCE, "*.yaml")))

    def _calendar_files(self) -> list[str]:
        return sorted(glob.glob(os.path.join(POLICY_SOURCE, "calendars", "*.yaml")))

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the checkout's policies/ directly
        files = self._policy_files()
        if not files:
            raise SystemExit(f"no policy files in {POLICY_SOURCE}/: the wheel would ship none")
        target = os.path.join(self.build_lib, *POLICY_TARGET)
        self.mkpath(target)
        for path in files:
            self.copy_file(path, os.path.join(target, os.path.basename(path)))
        calendars = os.path.join(target, "calendars")
        self.mkpath(calendars)
        for path in self._calendar_files():
            self.copy_file(path, os.path.join(calendars, os.path.basename(path)))

    def get_source_files(self) -> list[str]:
        return [*super().get_source_files(), *self._policy_files(), *self._calendar_files()]


setup(cmdclass={"build_py": build_py_with_policies})
