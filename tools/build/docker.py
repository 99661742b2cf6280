"""Docker for the firmware kit: build images and run containers, streaming their output.

The docker Python SDK does the work; the ``docker`` CLI is the fallback when the SDK cannot
reach the engine but the CLI can (``KIT_DOCKER=cli`` forces it, ``KIT_DOCKER=sdk`` forbids it).
What to build or run is plain data (:class:`ImageSpec`, :class:`RunSpec`); pure functions turn
it into SDK keyword arguments or CLI argv, so tests check them without an engine.

The SDK speaks Docker's classic builder, which builds every stage before ``--target``;
:func:`trim_dockerfile` keeps only the stages the target needs, so building the ``unix`` image
never pulls the ESP-IDF image.
"""
from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Iterable, Iterator, List, Optional

LineSink = Callable[[str], None]

#: Label holding the hash of the Dockerfile stages an image was built from.
DOCKERFILE_LABEL = "org.microdot-kit.dockerfile"
HINT = (
    "start Docker (Docker Desktop, or `sudo systemctl start docker`), or build on the host "
    "with NATIVE=1 MICROPY_DIR=/path/to/micropython"
)


class DockerError(Exception):
    """Docker is missing or failed; the message is one sentence saying what to do."""


@dataclass(frozen=True)
class Mount:
    source: str  # host path
    target: str  # path inside the container
    read_only: bool = False

    def spec(self) -> str:
        return "%s:%s%s" % (self.source, self.target, ":ro" if self.read_only else "")


@dataclass
class ImageSpec:
    tag: str
    target: str
    dockerfile: Path
    buildargs: Dict[str, str] = field(default_factory=dict)
    labels: Dict[str, str] = field(default_factory=dict)
    network: Optional[str] = None


@dataclass
class RunSpec:
    image: str
    command: List[str]
    mounts: List[Mount] = field(default_factory=list)
    workdir: Optional[str] = None
    environment: Dict[str, str] = field(default_factory=dict)
    user: Optional[str] = None
    network: Optional[str] = None


# --------------------------------------------------------------------------------------------
# Pure builders


def build_argv(spec: ImageSpec, context: str = ".", dockerfile: Optional[str] = None) -> List[str]:
    """``docker build`` argv for ``spec`` (context and Dockerfile given separately)."""
    argv = ["docker", "build", "--target", spec.target, "-t", spec.tag]
    if dockerfile is not None:
        argv += ["-f", dockerfile]
    for key, value in sorted(spec.buildargs.items()):
        argv += ["--build-arg", "%s=%s" % (key, value)]
    for key, value in sorted(spec.labels.items()):
        argv += ["--label", "%s=%s" % (key, value)]
    if spec.network:
        argv += ["--network", spec.network]
    return argv + [context]


def build_kwargs(spec: ImageSpec, context: str, dockerfile: str = "Dockerfile") -> dict:
    """Keyword arguments for ``docker.APIClient.build`` (streamed, decoded)."""
    kwargs = {
        "path": context,
        "dockerfile": dockerfile,
        "tag": spec.tag,
        "target": spec.target,
        "buildargs": dict(spec.buildargs),
        "labels": dict(spec.labels),
        "rm": True,
        "decode": True,
    }
    if spec.network:
        kwargs["network_mode"] = spec.network
    return kwargs


def run_argv(spec: RunSpec) -> List[str]:
    """``docker run`` argv for ``spec``."""
    argv = ["docker", "run", "--rm"]
    if spec.network:
        argv += ["--network", spec.network]
    if spec.user:
        argv += ["--user", spec.user]
    if spec.workdir:
        argv += ["-w", spec.workdir]
    for key, value in sorted(spec.environment.items()):
        argv += ["-e", "%s=%s" % (key, value)]
    for mount in spec.mounts:
        argv += ["-v", mount.spec()]
    return argv + [spec.image] + list(spec.command)


def run_kwargs(spec: RunSpec) -> dict:
    """Keyword arguments for ``docker.DockerClient.containers.run`` (detached)."""
    kwargs = {
        "image": spec.image,
        "command": list(spec.command),
        "volumes": [m.spec() for m in spec.mounts],
        "environment": dict(spec.environment),
        "detach": True,
    }
    if spec.workdir:
        kwargs["working_dir"] = spec.workdir
    if spec.user:
        kwargs["user"] = spec.user
    if spec.network:
        kwargs["network_mode"] = spec.network
    return kwargs


def command_line(argv: Iterable[str]) -> str:
    """argv as a shell command line a user can paste."""
    return " ".join(shlex.quote(a) for a in argv)


_FROM = re.compile(r"^\s*FROM\s+(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?\s*$", re.IGNORECASE)
_COPY_FROM = re.compile(r"--from=(\S+)", re.IGNORECASE)


def _stages(text: str):
    """(preamble lines, [(name, base, lines)]) of a Dockerfile."""
    preamble: List[str] = []
    stages: List[list] = []
    for line in text.splitlines():
        match = _FROM.match(line)
        if match:
            stages.append([(match.group(2) or str(len(stages))).lower(), match.group(1), [line]])
        elif stages:
            stages[-1][2].append(line)
        else:
            preamble.append(line)
    return preamble, stages


def stage_names(text: str) -> List[str]:
    return [name for name, _, _ in _stages(text)[1]]


def trim_dockerfile(text: str, target: str) -> str:
    """The Dockerfile with only ``target`` and the stages it builds on (FROM / COPY --from)."""
    preamble, stages = _stages(text)
    by_name = {name: (base, lines) for name, base, lines in stages}
    if target.lower() not in by_name:
        raise DockerError(
            "The Dockerfile has no stage '%s'; its stages are: %s."
            % (target, ", ".join(by_name) or "(none)")
        )
    needed = set()
    todo = [target.lower()]
    while todo:
        name = todo.pop()
        if name in needed:
            continue
        needed.add(name)
        base, lines = by_name[name]
        refs = [base.lower()] + [m.lower() for ln in lines for m in _COPY_FROM.findall(ln)]
        todo.extend(r for r in refs if r in by_name)
    kept = [ln for name, _, lines in stages if name in needed for ln in lines]
    return "\n".join(preamble + kept) + "\n"


def dockerfile_digest(text: str, target: str) -> str:
    """A short hash of what building ``target`` depends on in the Dockerfile."""
    import hashlib

    return hashlib.sha256(trim_dockerfile(text, target).encode("utf-8")).hexdigest()[:16]


def _lines(chunks: Iterable[bytes]) -> Iterator[str]:
    """Split a stream of byte chunks into text lines (progress bars' \\r count as breaks)."""
    pending = b""
    for chunk in chunks:
        pending += chunk
        parts = re.split(rb"\r\n|\n|\r", pending)
        pending = parts.pop()
        for part in parts:
            yield part.decode("utf-8", "replace")
    if pending:
        yield pending.decode("utf-8", "replace")


# --------------------------------------------------------------------------------------------
# Engines


class Engine:
    name = "?"

    def image_labels(self, tag: str) -> Optional[Dict[str, str]]:
        """The labels of image ``tag``, or None when there is no such image."""
        raise NotImplementedError

    def build(self, spec: ImageSpec, on_line: LineSink) -> None:
        raise NotImplementedError

    def run(self, spec: RunSpec, on_line: LineSink) -> int:
        raise NotImplementedError

    def _context(self, spec: ImageSpec) -> tempfile.TemporaryDirectory:
        """An empty build context holding only the trimmed Dockerfile."""
        try:
            text = spec.dockerfile.read_text(encoding="utf-8")
        except OSError as exc:
            raise DockerError("Cannot read '%s': %s." % (spec.dockerfile, exc.strerror))
        tmp = tempfile.TemporaryDirectory(prefix="kit-docker-")
        Path(tmp.name, "Dockerfile").write_text(trim_dockerfile(text, spec.target), encoding="utf-8")
        return tmp


class SdkEngine(Engine):
    name = "docker SDK"

    def __init__(self, client):
        self.client = client

    def image_labels(self, tag):
        import docker.errors

        try:
            image = self.client.images.get(tag)
        except docker.errors.ImageNotFound:
            return None
        return dict(image.labels or {})

    def build(self, spec, on_line):
        import docker.errors

        with self._context(spec) as context:
            try:
                for item in self.client.api.build(**build_kwargs(spec, context)):
                    if "error" in item:
                        raise DockerError(
                            "Building image '%s' failed: %s." % (spec.tag, item["error"].strip().rstrip("."))
                        )
                    text = item.get("stream") or item.get("status") or ""
                    for line in text.splitlines():
                        if line.strip():
                            on_line(line)
            except docker.errors.DockerException as exc:
                raise DockerError("Building image '%s' failed: %s." % (spec.tag, exc))

    def run(self, spec, on_line):
        import docker.errors

        try:
            container = self.client.containers.run(**run_kwargs(spec))
        except docker.errors.DockerException as exc:
            raise DockerError("Cannot start a container from '%s': %s." % (spec.image, exc))
        try:
            for line in _lines(container.logs(stream=True, follow=True)):
                on_line(line)
            return int(container.wait().get("StatusCode", 1))
        finally:
            try:
                container.remove(force=True)
            except docker.errors.DockerException:
                pass


class CliEngine(Engine):
    name = "docker CLI"

    def __init__(self, docker: str = "docker"):
        self.docker = docker

    def _argv(self, argv: List[str]) -> List[str]:
        return [self.docker] + argv[1:]

    def image_labels(self, tag):
        proc = subprocess.run(
            [self.docker, "image", "inspect", "--format", "{{json .Config.Labels}}", tag],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        if proc.returncode != 0:
            return None
        import json

        return json.loads(proc.stdout.decode() or "null") or {}

    def _stream(self, argv: List[str], on_line: LineSink) -> int:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            for line in _lines(iter(lambda: proc.stdout.read1(4096), b"")):
                on_line(line)
        finally:
            proc.stdout.close()
            code = proc.wait()
        return code

    def build(self, spec, on_line):
        with self._context(spec) as context:
            argv = self._argv(build_argv(spec, context, str(Path(context, "Dockerfile"))))
            if self._stream(argv, on_line) != 0:
                raise DockerError("Building image '%s' failed; see the output above." % spec.tag)

    def run(self, spec, on_line):
        return self._stream(self._argv(run_argv(spec)), on_line)


def connect(mode: Optional[str] = None) -> Engine:
    """An engine that answers: the SDK's, else the CLI's. Raises DockerError saying what to do."""
    mode = (mode or os.environ.get("KIT_DOCKER") or "auto").lower()
    reasons = []
    if mode in ("auto", "sdk"):
        try:
            import docker

            client = docker.from_env(timeout=600)
            client.ping()
            return SdkEngine(client)
        except ImportError:
            reasons.append("the docker Python package is not installed")
        except Exception as exc:  # any failure to reach the engine means "no Docker"
            reasons.append(_short(exc))
    if mode in ("auto", "cli"):
        docker_bin = shutil.which("docker")
        if docker_bin is None:
            reasons.append("no `docker` command on PATH")
        else:
            proc = subprocess.run(
                [docker_bin, "version", "--format", "{{.Server.Version}}"],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            if proc.returncode == 0:
                return CliEngine(docker_bin)
            reasons.append(_short(proc.stderr.decode("utf-8", "replace")))
    if mode not in ("auto", "sdk", "cli"):
        raise DockerError("KIT_DOCKER='%s' is not one of auto, sdk, cli; unset it or fix it." % mode)
    raise DockerError("Docker is not available (%s): %s." % ("; ".join(reasons), HINT))


def _short(exc) -> str:
    text = str(exc).strip().splitlines()
    line = text[-1] if text else type(exc).__name__
    if "Connection refused" in line or "FileNotFoundError" in line or "No such file" in line:
        return "cannot reach the Docker engine"
    return line.rstrip(".")[:160]
