"""Finding a Java runtime of at least a given major version."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterable
from pathlib import Path

from infra.local.errors import StackError

JVM_ROOTS = (Path("/usr/lib/jvm"), Path("/usr/local/lib/jvm"), Path("/opt/java"))


def java_major(java_home: Path) -> int | None:
    """The major version of ``java_home/bin/java``, or None when it does not run."""
    binary = java_home / "bin" / "java"
    if not binary.is_file():
        return None
    try:
        out = subprocess.run([str(binary), "-version"], capture_output=True, text=True,
                             timeout=30).stderr
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2)) if major == 1 and match.group(2) else major


def candidate_homes(env: dict[str, str] | None = None,
                    roots: Iterable[Path] = JVM_ROOTS) -> list[Path]:
    """Java homes to try, in order: T4_JAVA_HOME, ES_JAVA_HOME, JAVA_HOME, the JVM folders."""
    env = os.environ if env is None else env
    homes = [Path(env[name]) for name in ("T4_JAVA_HOME", "ES_JAVA_HOME", "JAVA_HOME")
             if env.get(name)]
    for root in roots:
        if root.is_dir():
            homes.extend(sorted((p for p in root.iterdir() if p.is_dir()), reverse=True))
    return homes


def find_java(min_major: int, purpose: str, env: dict[str, str] | None = None,
              roots: Iterable[Path] = JVM_ROOTS, max_major: int | None = None) -> Path:
    """The first Java home of at least ``min_major`` (and at most ``max_major``).

    Raises:
        StackError: none found; the message lists where it looked and what it found.
    """
    seen: list[str] = []
    for home in candidate_homes(env, roots):
        major = java_major(home)
        seen.append(f"{home} ({'Java ' + str(major) if major else 'no java'})")
        if major is not None and major >= min_major and (max_major is None
                                                          or major <= max_major):
            return home
    looked = "; ".join(seen) or "nothing found"
    raise StackError(
        f"{purpose} needs Java {min_major} or newer"
        f"{f' (up to {max_major})' if max_major else ''}, and none was found. Looked at: {looked}. "
        f"Install one (e.g. `apt-get install openjdk-{min_major}-jre-headless` or a Temurin "
        f"JDK under /usr/lib/jvm) or set T4_JAVA_HOME to its home folder."
    )
