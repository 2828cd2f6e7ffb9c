"""Whether samconfig.toml's environment is ready for `sam deploy --config-env ENV` (make deploy runs
this first): every override names a template parameter, every parameter without a default is given,
no REPLACE_ME placeholder is left, no value holds a space (SAM splits entries at spaces), every
value meets its parameter's constraints as CloudFormation would check them, and the secret rules
(SecretPatterns, SecretAllowlist) are what the scanning functions will accept: CloudFormation can only
check their outline."""

import re
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


def constraint_problems(name: str, parameter: dict, value: str) -> list[str]:
    """What CloudFormation would refuse of `value` for a template parameter: its type (a Number), its
    AllowedValues and AllowedPattern (each item of a list), and its MinValue/MaxValue and
    MinLength/MaxLength."""
    kind = parameter.get("Type", "String")
    items = value.split(",") if kind.startswith(("CommaDelimitedList", "List<")) else [value]
    found = []
    for item in items:
        allowed = parameter.get("AllowedValues")
        if allowed is not None and item not in [str(v) for v in allowed]:
            found.append(f"{name}: {item!r} is not one of {', '.join(str(v) for v in allowed)}")
        pattern = parameter.get("AllowedPattern")
        if pattern is not None and re.fullmatch(pattern, item) is None:
            found.append(f"{name}: {item!r} does not match {pattern}")
        if "MinLength" in parameter and len(item) < int(parameter["MinLength"]):
            found.append(f"{name}: {item!r} is shorter than {parameter['MinLength']}")
        if "MaxLength" in parameter and len(item) > int(parameter["MaxLength"]):
            found.append(f"{name}: {item!r} is longer than {parameter['MaxLength']}")
    if kind == "Number":
        try:
            number = float(value)
        except ValueError:
            return [*found, f"{name}: {value!r} is not a number"]
        if "MinValue" in parameter and number < float(parameter["MinValue"]):
            found.append(f"{name}: {value} is below its MinValue {parameter['MinValue']}")
        if "MaxValue" in parameter and number > float(parameter["MaxValue"]):
            found.append(f"{name}: {value} is above its MaxValue {parameter['MaxValue']}")
    return found


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
    for key, value in given.items():
        if key in parameters and PLACEHOLDER not in value:
            found += constraint_problems(key, parameters[key], value)
    from tasklogs_core.adapters.settings import secret_rule_problems

    found += secret_rule_problems({key: value for key, value in given.items() if PLACEHOLDER not in value})
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
    sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "core")]
    sys.exit(main())
