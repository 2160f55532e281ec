"""Fetching the pinned Elasticsearch, OpenSearch and Tika distributions from Maven Central, once."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

from infra.local.errors import StackError

ES_COORDS = "org.elasticsearch.distribution.integ-test-zip:elasticsearch:{version}:zip"
OPENSEARCH_COORDS = "org.opensearch.distribution.integ-test-zip:opensearch:{version}:zip"
TIKA_COORDS = "org.apache.tika:tika-server-standard:{version}:jar"


def m2_path(coords: str, repo: Path | None = None) -> Path:
    """Where Maven keeps ``group:artifact:version:packaging`` in the local repository."""
    group, artifact, version, packaging = coords.split(":")
    repo = repo or Path.home() / ".m2" / "repository"
    return repo / group.replace(".", "/") / artifact / version / f"{artifact}-{version}.{packaging}"


def maven_fetch(coords: str, mvn: str = "mvn") -> Path:
    """The local path of a Maven Central artifact, downloading it when missing.

    Raises:
        StackError: Maven is missing or the download failed (with the command and its output).
    """
    path = m2_path(coords)
    if path.is_file():
        return path
    if shutil.which(mvn) is None:
        raise StackError(f"Maven (`{mvn}`) is needed to fetch {coords}; install it "
                         "(`apt-get install maven`) or put the artifact at " + str(path))
    # -U: a previous failed look-up is cached by Maven and would otherwise be final.
    cmd = [mvn, "-B", "-q", "-U", "dependency:get", "-Dtransitive=false", f"-Dartifact={coords}"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0 or not path.is_file():
        output = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-8:])
        raise StackError(f"could not download {coords}. Command: {' '.join(cmd)}\n{output}\n"
                         "Check that Maven Central is reachable (proxy settings in "
                         "~/.m2/settings.xml) or pick another version with "
                         "T4_STACK_ES_VERSION / T4_STACK_TIKA_VERSION.")
    return path


def unpack_zip(archive: Path, dest: Path) -> Path:
    """Unpack ``archive`` into ``dest`` (keeping Unix modes) once; return the unpacked root."""
    marker = dest / ".unpacked"
    if marker.is_file():
        return Path(marker.read_text().strip())
    tmp = dest.with_name(dest.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            target = Path(zf.extract(info, tmp))
            mode = info.external_attr >> 16
            if mode and not info.is_dir():
                target.chmod(mode & 0o777)
        top = {Path(n).parts[0] for n in zf.namelist()}
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    root = dest / top.pop() if len(top) == 1 else dest
    marker.write_text(str(root))
    return root


def fetch_elasticsearch(version: str, cache_dir: Path) -> Path:
    """The unpacked Elasticsearch home for ``version`` under ``cache_dir``."""
    archive = maven_fetch(ES_COORDS.format(version=version))
    return unpack_zip(archive, cache_dir / f"elasticsearch-{version}")


def fetch_opensearch(version: str, cache_dir: Path) -> Path:
    """The unpacked OpenSearch home for ``version`` under ``cache_dir``."""
    archive = maven_fetch(OPENSEARCH_COORDS.format(version=version))
    return unpack_zip(archive, cache_dir / f"opensearch-{version}")


def fetch_tika(version: str, cache_dir: Path) -> Path:
    """The Tika server jar for ``version``, copied under ``cache_dir``."""
    target = cache_dir / f"tika-server-standard-{version}.jar"
    if not target.is_file():
        source = maven_fetch(TIKA_COORDS.format(version=version))
        cache_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    return target
