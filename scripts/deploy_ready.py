"""Whether samconfig.toml's environment is ready for `sam deploy --config-env ENV` (make deploy runs
this first): every override names a template parameter, every parameter without a default is given,
no REPLACE_ME placeholder is left, and no value holds a space (SAM splits entries at spaces)."""

import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER = "REPLACE_ME"


def overrides(env: str, config: Path = ROOT / "samconfig.toml") -> dict[str, str]:
    settings = tomllib.loads(config.read_text())
    if env not in settings or "deploy" not in settings[env]:
        raise SystemExit(
            f"samconfig.toml has no [{env}.deploy.parameters]; environments: "
            + ", ".join(sorted(k for k in settings if k != "version" and k != "default"))
        )
    entries = settings[env]["deploy"]["parameters"].get("parameter_overrides", [])
    entries = entries.split() if isinstance(entries, str) else entries
    return dict(entry.partition("=")[::2] for entry in entries)


def problems(env: str, config: Path = ROOT / "samconfig.toml") -> list[str]:
    from devstack.runtime.template_resources import load_template

    parameters = load_template()["Parameters"]
    given = overrides(env, config)
    found = [f"{key}: not a parameter of template.yaml" for key in given if key not in parameters]
    found += [
        f"{key}: required (no default) but not given"
        for key, p in parameters.items()
        if "Default" not in p and key not in given
    ]
    found += [f"{key}: still {value!r}" for key, value in given.items() if PLACEHOLDER in value]
    found += [f"{key}: holds a space, which SAM would split" for key, value in given.items() if " " in value]
    return found


def main() -> int:
    env = sys.argv[1] if len(sys.argv) > 1 else "dev"
    found = problems(env)
    for problem in found:
        print(f"samconfig.toml [{env}]: {problem}", file=sys.stderr)
    if found:
        print(f"Not deploying {env}: set these in samconfig.toml (README: Deploying).", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
