"""The secret corpus (contract §12; docs/redaction.md): terminal-like agent output with planted secrets of
every kind the scanner covers, and look-alikes that are not secrets. Made from a seed, not kept as
files: a tree of realistic credentials is what other scanners (and push protection) rightly flag.

Each planted secret is made the way its issuer makes it (GitHub's CRC32 checksum, AWS's base32 key ids),
so a rule that checks a format finds it. `Planted.secrets` are the texts that must not survive."""

from __future__ import annotations

import base64
import hashlib
import json
import random
import string
import uuid
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

ALNUM = string.ascii_letters + string.digits
BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase


@dataclass(frozen=True)
class Planted:
    kind: str  # the marker kind the scanner should give it
    text: str  # the agent's output around it
    secrets: tuple[str, ...]  # what must not be in the redacted text


def _pick(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _base62(number: int, width: int) -> str:
    digits = ""
    while number:
        number, rest = divmod(number, 62)
        digits = BASE62[rest] + digits
    return digits.rjust(width, "0")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def github_token(rng: random.Random, prefix: str = "ghp_") -> str:
    body = _pick(rng, ALNUM, 30)
    return prefix + body + _base62(zlib.crc32(body.encode()), 6)


def aws_pair(rng: random.Random) -> tuple[str, str]:
    return "AKIA" + _pick(rng, string.ascii_uppercase + "234567", 16), _pick(rng, ALNUM + "+/", 40)


def jwt(rng: random.Random) -> str:
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = _b64url(json.dumps({"sub": str(rng.randrange(10**6)), "name": "dev", "iat": 1764000000}).encode())
    return f"{header}.{claims}.{_b64url(rng.randbytes(32))}"


def private_key(rng: random.Random, label: str) -> tuple[str, tuple[str, ...]]:
    body = base64.b64encode(rng.randbytes(900)).decode()
    lines = tuple(body[i : i + 64] for i in range(0, len(body), 64))
    return f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----", lines[1:-1]


def password(rng: random.Random) -> str:
    return _pick(rng, ALNUM, rng.randrange(14, 24))


def _aws(rng: random.Random) -> Planted:
    key_id, secret = aws_pair(rng)
    text = f"$ cat ~/.aws/credentials\n[default]\naws_access_key_id = {key_id}\naws_secret_access_key = {secret}\n"
    return Planted("aws-access-key-id", text, (key_id, secret))


def _aws_env(rng: random.Random) -> Planted:
    key_id, secret = aws_pair(rng)
    text = f"$ env | grep AWS\nAWS_REGION=eu-west-1\nAWS_ACCESS_KEY_ID={key_id}\nAWS_SECRET_ACCESS_KEY={secret}\n"
    return Planted("aws-access-key-id", text, (key_id, secret))


def _github(rng: random.Random) -> Planted:
    token = github_token(rng, rng.choice(("ghp_", "gho_", "ghs_")))
    remote = f"origin  https://{token}@github.com/acme/api.git (fetch)"
    text = f"remote: Invalid username or token.\n$ git remote -v\n{remote}\n"
    return Planted("github-token", text, (token,))


def _github_fine_grained(rng: random.Random) -> Planted:
    token = f"github_pat_{_pick(rng, ALNUM, 22)}_{_pick(rng, ALNUM, 59)}"
    return Planted("github-token", f'Using token from gh config: "{token}"\n', (token,))


def _gitlab(rng: random.Random) -> Planted:
    token = "glpat-" + _pick(rng, ALNUM + "_-", 20)
    return Planted(
        "gitlab-token", f"● Bash(curl -H 'PRIVATE-TOKEN: {token}' https://gitlab.example.com/api/v4/user)\n", (token,)
    )


def _slack(rng: random.Random) -> Planted:
    token = f"xoxb-{rng.randrange(10**11, 10**12)}-{rng.randrange(10**12, 10**13)}-{_pick(rng, ALNUM, 24)}"
    return Planted("slack-token", f"SlackApiError: invalid_auth (token {token})\n", (token,))


def _slack_webhook(rng: random.Random) -> Planted:
    upper = string.ascii_uppercase + string.digits
    path = f"T{_pick(rng, upper, 10)}/B{_pick(rng, upper, 10)}/{_pick(rng, ALNUM, 24)}"
    url = f"https://hooks.slack.com/services/{path}"
    return Planted("slack-webhook-url", f"notify:\n  webhook: {url}\n", (path,))


def _private_key(rng: random.Random) -> Planted:
    label = rng.choice(("RSA PRIVATE KEY", "OPENSSH PRIVATE KEY", "EC PRIVATE KEY", "PRIVATE KEY"))
    block, lines = private_key(rng, label)
    return Planted("private-key", f"$ cat deploy/id_key\n{block}\n$ chmod 600 deploy/id_key\n", lines)


def _jwt(rng: random.Random) -> Planted:
    token = jwt(rng)
    return Planted("jwt", f"> GET /api/me\n> Authorization: Bearer {token}\n< HTTP/1.1 200 OK\n", (token,))


def _database_url(rng: random.Random) -> Planted:
    secret = password(rng)
    scheme, host = rng.choice(
        (
            ("postgres", "db.internal:5432/orders"),
            ("mysql", "10.0.3.7:3306/shop"),
            ("mongodb+srv", "cluster0.ab1cd.mongodb.net/app"),
            ("redis", "cache:6379/0"),
        )
    )
    return Planted("url-password", f"DATABASE_URL={scheme}://app:{secret}@{host}\nMigrations: 12 applied\n", (secret,))


def _env_line(rng: random.Random) -> Planted:
    name = rng.choice(
        ("DB_PASSWORD", "SECRET_KEY", "JWT_SECRET", "API_KEY", "NEXTAUTH_SECRET", "REDIS_PASSWORD", "SMTP_PASSWORD")
    )
    secret = password(rng)
    quote = rng.choice(("", '"', "'"))
    return Planted(
        "env-secret", f"$ cat .env\nNODE_ENV=production\nPORT=3000\n{name}={quote}{secret}{quote}\n", (secret,)
    )


def _stripe(rng: random.Random) -> Planted:
    token = "sk_live_" + _pick(rng, ALNUM, 24)
    return Planted("stripe-access-token", f"stripe.api_key = {token!r}\n", (token,))


def _npm(rng: random.Random) -> Planted:
    token = "npm_" + _pick(rng, ALNUM, 36)
    return Planted("npmjsaccesstoken", f"$ cat ~/.npmrc\n//registry.npmjs.org/:_authToken={token}\n", (token,))


PLANTERS: tuple[Callable[[random.Random], Planted], ...] = (
    _aws,
    _aws_env,
    _github,
    _github_fine_grained,
    _gitlab,
    _slack,
    _slack_webhook,
    _private_key,
    _jwt,
    _database_url,
    _env_line,
    _stripe,
    _npm,
)


def look_alikes(rng: random.Random) -> list[str]:
    """Agent output that holds no secret, however random it looks."""
    sha1 = hashlib.sha1(rng.randbytes(8)).hexdigest()  # noqa: S324 - a commit id, not security
    image = base64.b64encode(b"\x89PNG\r\n\x1a\n" + rng.randbytes(600)).decode()
    return [
        f"$ git log --oneline -1\n{sha1[:7]} Fix the retry loop\ncommit {sha1}\n",
        f"sha256sum dist/app.tar.gz\n{hashlib.sha256(rng.randbytes(8)).hexdigest()}  dist/app.tar.gz\n",
        f"Created task {uuid.UUID(bytes=rng.randbytes(16))} in workspace {uuid.UUID(bytes=rng.randbytes(16))}\n",
        f'<img src="data:image/png;base64,{image}" alt="chart">\n',
        f'"integrity": "sha512-{base64.b64encode(hashlib.sha512(rng.randbytes(8)).digest()).decode()}"\n',
        f"docker pull ghcr.io/acme/api@sha256:{hashlib.sha256(rng.randbytes(8)).hexdigest()}\n",
        "DATABASE_URL=postgres://localhost:5432/orders\nPASSWORD_MIN_LENGTH=12\nTOKEN_TTL_SECONDS=3600\n",
        "password: ${DB_PASSWORD}\napi_key: <your-api-key>\nSECRET_KEY=changeme\n",
        f"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{base64.b64encode(rng.randbytes(32)).decode()[:43]} dev@laptop\n",
        f"Request id: {_pick(rng, string.hexdigits.lower(), 32)}; trace {rng.randrange(10**15, 10**16)}\n",
        "export PWD=/home/coder/project OLDPWD=/home/coder\n",
        "The access key id AKIAIOSFODNN7EXAMPLE is AWS's documented example.\n",
    ]


def corpus(seed: int = 26, per_kind: int = 20) -> Iterator[Planted | str]:
    """`per_kind` of every planted kind and of every look-alike, in a shuffled order."""
    rng = random.Random(seed)
    items: list[Planted | str] = []
    for _ in range(per_kind):
        items += [plant(rng) for plant in PLANTERS]
        items += look_alikes(rng)
    rng.shuffle(items)
    yield from items
