"""`sam build` of the real template, without Docker: needs a python3.13 on PATH (make test puts the
venv's bin first, so a 3.13 venv is enough)."""

import os
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from devstack.runtime.template_resources import ROOT, load_template

# Lambda's limit on a function's code and all its layers, unzipped: the deploy fails past it.
UNZIPPED_LIMIT = 262_144_000
SAM = shutil.which("sam") or str(Path(sys.executable).with_name("sam"))
PATH = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])


@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which("python3.13", path=PATH) is None
    or subprocess.run(["python3.13", "-c", ""], env={**os.environ, "PATH": PATH}, capture_output=True).returncode != 0,
    reason="sam build for python3.13 needs a working python3.13 on PATH",
)
def test_sam_build_packages_every_function_and_the_arm64_layer(tmp_path: Path) -> None:
    build_dir = tmp_path / "build"
    run = subprocess.run(
        [
            SAM,
            "build",
            "--template",
            str(ROOT / "template.yaml"),
            "--build-dir",
            str(build_dir),
            "--cache-dir",
            str(tmp_path / "cache"),
        ],
        cwd=ROOT,
        env={**os.environ, "PATH": PATH, "SAM_CLI_TELEMETRY": "0"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    layer = build_dir / "CoreLayer" / "python"
    assert (layer / "tasklogs_core" / "use_cases" / "task_logs.py").is_file()
    for function, module in (
        ("TaskLogsFunction", "task_logs_handler"),
        ("LogSnapshotFunction", "log_snapshot_handler"),
        ("PauseCaptureFunction", "pause_capture_handler"),
        ("SnapshotCleanupFunction", "snapshot_cleanup_handler"),
        ("TranscriptRetryFunction", "transcript_retry_handler"),
        ("TasksFunction", "tasks_handler"),
        ("UserAuthorizerFunction", "user_authorizer_handler"),
    ):
        assert (build_dir / function / f"{module}.py").is_file(), function
    # Only the authorizer carries the JWT library, and its crypto is built for arm64 Lambda.
    authorizer = build_dir / "UserAuthorizerFunction"
    own = {d.metadata["Name"].lower(): d.version for d in metadata.distributions(path=[str(authorizer)])}
    assert own["pyjwt"] == metadata.version("pyjwt") and own["cryptography"] == metadata.version("cryptography")
    native = [*(authorizer / "cryptography" / "hazmat" / "bindings").glob("_rust*.so"), *authorizer.glob("_cffi*.so")]
    aarch64 = 183  # ELF e_machine of AArch64: the abi3 wheel's file name does not say the architecture
    assert len(native) == 2 and all(int.from_bytes(so.read_bytes()[18:20], "little") == aarch64 for so in native)
    for function in ("TaskLogsFunction", "TasksFunction", "LogSnapshotFunction"):
        assert not (build_dir / function / "jwt").exists(), function
    # The layer's AWS SDK is the one the tests ran with: it comes before the runtime's on sys.path,
    # so it must never be whatever was newest at build time.
    shipped = {d.metadata["Name"].lower(): d.version for d in metadata.distributions(path=[str(layer)])}
    assert shipped["botocore"] == metadata.version("botocore")
    assert "boto3" not in shipped  # the functions use botocore's clients directly
    # No tracing library ships (docs/tracing.md).
    assert not [name for name in shipped if name in ("aws-xray-sdk", "wrapt") or name.startswith("opentelemetry")]
    # The compiled pydantic-core in the layer is the Lambda's architecture, not this machine's.
    native = list((layer / "pydantic_core").glob("_pydantic_core*.so"))
    assert native and all("aarch64" in so.name for so in native), native
    # The secret scanner's layer: the SDK the tests ran with, its native library built for arm64; the
    # service's own rule file ships in the core layer beside the adapter that loads it.
    scanner = build_dir / "ScannerLayer" / "python"
    scanning = {d.metadata["Name"].lower(): d.version for d in metadata.distributions(path=[str(scanner)])}
    assert scanning == {"kingfisher-secret-scanner": metadata.version("kingfisher-secret-scanner")}
    native = list((scanner / "kingfisher_sdk").glob("_native*.so"))
    assert native and all(int.from_bytes(so.read_bytes()[18:20], "little") == aarch64 for so in native)
    assert (layer / "tasklogs_core" / "adapters" / "secret_rules.yml").is_file()

    # make build's second step: bytecode for every module, valid whatever mtimes the zip gives.
    run = subprocess.run(
        ["python3.13", str(ROOT / "scripts" / "precompile_build.py"), str(build_dir)],
        env={**os.environ, "PATH": PATH},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0 and run.stderr == "", run.stderr[-3000:]
    for source in build_dir.rglob("*.py"):
        compiled = source.parent / "__pycache__" / f"{source.stem}.cpython-313.pyc"
        header = compiled.read_bytes()[:8]
        # flags 0b01: hash-based, source not checked (PEP 552)
        assert int.from_bytes(header[4:8], "little") == 0b01, source

    # What Lambda unpacks for each function, its own package plus the layer, fits its limit. (Measured
    # after the bytecode: that is what ships.)
    def unzipped(folder: Path) -> int:
        return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())

    functions = sorted(p.name for p in build_dir.iterdir() if p.name.endswith("Function"))
    declared = sorted(
        name for name, r in load_template()["Resources"].items() if r["Type"] == "AWS::Serverless::Function"
    )
    assert functions == declared  # every function the template declares was built, and measured below
    layer_bytes = unzipped(build_dir / "CoreLayer")
    scanner_bytes = unzipped(build_dir / "ScannerLayer")
    template = load_template()["Resources"]
    sizes = {
        function: unzipped(build_dir / function)
        + layer_bytes
        + (scanner_bytes if {"Ref": "ScannerLayer"} in template[function]["Properties"].get("Layers", []) else 0)
        for function in functions
    }
    print("unzipped bytes with the layers:", sizes)
    assert all(size < UNZIPPED_LIMIT for size in sizes.values()), sizes
