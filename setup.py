"""Which packages the distribution installs (the rest of the metadata is in pyproject.toml).

The repository keeps its layout (``mock_server/``, ``harness/``, ``bulk_messaging_mock/`` at the
top), but the wheel installs ONE top-level name, ``bulk_messaging_mock``, with the server and the
harness inside it (``bulk_messaging_mock.mock_server``, ``bulk_messaging_mock.harness``): generic
names such as ``harness`` would clash with a project's own package of that name (CONTRACT §16).
``loadtests/`` is this repository's tooling (``make load``/``make bench``) and is not installed.
setuptools cannot map directories to other package names with ``packages.find`` alone, hence
this file.
"""
from setuptools import find_namespace_packages, setup

PARENT = "bulk_messaging_mock"
INSIDE = ("mock_server", "harness")      # directories installed as bulk_messaging_mock.<name>

packages = [PARENT] + [f"{PARENT}.{name}"
                       for name in find_namespace_packages(include=[f"{top}*" for top in INSIDE])
                       if name.split(".")[0] in INSIDE]

setup(
    packages=packages,
    package_dir={f"{PARENT}.{name}": name for name in INSIDE},
    # templates, the UI's assets, the API docs page (each provider package has its own templates/) and the demo tenants
    package_data={f"{PARENT}.mock_server": ["*/templates/**/*", "ui/static/*", "apidoc_page/**/*", "*/demo.yaml"]},
)
