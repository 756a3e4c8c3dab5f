# SPDX-License-Identifier: MIT
"""A PEP 517 / PEP 660 build backend for this pure-Python package, with no build dependencies.

`pip install ./python` and `pip install -e ./python` must work on a machine with no network (a LAN
node, a fresh Debian whose pip cannot fetch setuptools and wheel into its isolated build
environment). The package is a handful of .py files, so the wheel is written here with zipfile: the
files, METADATA, WHEEL and RECORD (PEP 427 / PEP 376), nothing else. The metadata is read from
pyproject.toml's [project] table and the version from taskfleet/_version.py: each written once.
An editable wheel holds a .pth file that puts this directory on sys.path.
"""

import base64
import hashlib
import io
import os
import re
import tarfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))


def _project():
    """pyproject.toml's [project] table (tomllib on Python >= 3.11; the few keys used here otherwise)."""
    path = os.path.join(HERE, "pyproject.toml")
    try:
        import tomllib
        with open(path, "rb") as f:
            return tomllib.load(f)["project"]
    except ImportError:
        pass
    project = {}
    section = None
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line.startswith("["):
                section = line.strip("[]")
                continue
            m = re.match(r'^([A-Za-z-]+)\s*=\s*(.+)$', line)
            if section == "project" and m:
                key, value = m.groups()
                if value.startswith('"'):
                    project[key] = value.strip('"')
                elif value.startswith("["):
                    project[key] = re.findall(r'"([^"]*)"', value)
                elif value.startswith("{"):
                    project[key] = dict(re.findall(r'(\w+)\s*=\s*"([^"]*)"', value))
    return project


PROJECT = _project()
NAME = PROJECT["name"]
PACKAGE_DIR = os.path.join(HERE, NAME)


def _version():
    with open(os.path.join(PACKAGE_DIR, "_version.py"), encoding="utf-8") as f:
        return re.search(r'^__version__ = "([^"]+)"', f.read(), re.M).group(1)


def _metadata():
    readme = ""
    path = os.path.join(HERE, PROJECT.get("readme", "README.md"))
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            readme = f.read()
    lines = ["Metadata-Version: 2.1", "Name: " + NAME, "Version: " + _version(),
             "Summary: " + PROJECT.get("description", ""),
             "License: " + PROJECT.get("license", {}).get("text", ""),
             "Requires-Python: " + PROJECT.get("requires-python", ">=3")]
    lines += ["Classifier: " + c for c in PROJECT.get("classifiers", [])]
    for extra, requirements in sorted(PROJECT.get("optional-dependencies", {}).items()):
        lines.append("Provides-Extra: " + extra)
        lines += ['Requires-Dist: %s; extra == "%s"' % (r, extra) for r in requirements]
    lines.append("Description-Content-Type: text/markdown")
    return "\n".join(lines) + "\n\n" + readme


def _sources():
    return sorted(f for f in os.listdir(PACKAGE_DIR) if f.endswith(".py") or f == "py.typed")


def _digest(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def _dist_info():
    return "%s-%s.dist-info" % (NAME, _version())


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    target = os.path.join(metadata_directory, _dist_info())
    os.makedirs(target, exist_ok=True)
    with open(os.path.join(target, "METADATA"), "w", encoding="utf-8") as f:
        f.write(_metadata())
    return _dist_info()


prepare_metadata_for_build_editable = prepare_metadata_for_build_wheel


def _write_wheel(wheel_directory, files):
    info = _dist_info()
    files = list(files)
    files.append((info + "/METADATA", _metadata().encode()))
    files.append((info + "/WHEEL", b"Wheel-Version: 1.0\nGenerator: taskfleet build_backend\n"
                                   b"Root-Is-Purelib: true\nTag: py3-none-any\n"))
    record = "".join("%s,%s,%d\n" % (path, _digest(data), len(data)) for path, data in files)
    record += info + "/RECORD,,\n"
    files.append((info + "/RECORD", record.encode()))
    wheel = "%s-%s-py3-none-any.whl" % (NAME, _version())
    with zipfile.ZipFile(os.path.join(wheel_directory, wheel), "w", zipfile.ZIP_DEFLATED) as z:
        for path, data in files:
            entry = zipfile.ZipInfo(path, date_time=(2020, 1, 1, 0, 0, 0))
            if path.endswith(".sbatch"):  # a script: pip keeps the executable bit of the entry's mode
                entry.external_attr = 0o100755 << 16
            z.writestr(entry, data, zipfile.ZIP_DEFLATED)
    return wheel


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    files = []
    for name in _sources():
        with open(os.path.join(PACKAGE_DIR, name), "rb") as f:
            files.append(("%s/%s" % (NAME, name), f.read()))
    # The Slurm batch script, installed under the environment's prefix (share/taskfleet/slurm), where
    # taskfleet.slurm.find_script() looks, as it does for the .deb's copy.
    sbatch = os.path.join(os.path.dirname(HERE), "resources", "slurm", "taskfleet-agents.sbatch")
    if os.path.isfile(sbatch):
        with open(sbatch, "rb") as f:
            files.append(("%s-%s.data/data/share/taskfleet/slurm/taskfleet-agents.sbatch" % (NAME, _version()),
                          f.read()))
    return _write_wheel(wheel_directory, files)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    """PEP 660: the package is imported from this directory, so edits take effect at once."""
    return _write_wheel(wheel_directory, [("__editable__.%s.pth" % NAME, (HERE + "\n").encode())])


def build_sdist(sdist_directory, config_settings=None):
    base = "%s-%s" % (NAME, _version())
    name = base + ".tar.gz"
    with tarfile.open(os.path.join(sdist_directory, name), "w:gz", format=tarfile.PAX_FORMAT) as tar:
        for rel in ["pyproject.toml", "build_backend.py", "README.md"] + [NAME + "/" + s for s in _sources()]:
            path = os.path.join(HERE, rel)
            if os.path.exists(path):
                tar.add(path, arcname=base + "/" + rel)
        pkg_info = _metadata().encode()
        ti = tarfile.TarInfo(base + "/PKG-INFO")
        ti.size = len(pkg_info)
        tar.addfile(ti, io.BytesIO(pkg_info))
    return name
