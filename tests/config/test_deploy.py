"""The deployment files hold together. No container engine runs here, so a proxy that
cannot start, a redirect to a port nothing serves or a database open to anyone on its
network would otherwise only show on the day of a deploy:

- deploy/nginx.conf.template, rendered the way the nginx image renders it and given a
  throwaway certificate, is accepted by Debian's `nginx -t` (which loads the certificate and
  key), and a real nginx started on it redirects HTTP to HTTPS, tells Django the scheme the
  way its production settings read it, upgrades websockets and sends Django's HSTS header;
- compose.yaml runs MongoDB and Redis with credentials taken from the environment (compose
  refuses to start without them), and every service's MONGODB_URI / REDIS_URL carries them.
"""

from __future__ import annotations

import http.client
import http.server
import json
import os
import pwd
import re
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml
from pymongo.uri_parser import parse_uri

from config.embedded import free_port

pytestmark = pytest.mark.no_servers

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "deploy" / "nginx.conf.template"
COMPOSE = ROOT / "compose.yaml"
IN_CI = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")
# What an operator puts in the environment (deploy/env.example), for interpolating compose.yaml.
OPERATOR_ENV = {"DJANGO_SECRET_KEY": "s3cret", "POSTGRES_PASSWORD": "pg-pass", "MONGO_ROOT_USERNAME": "mongo-user",
                "MONGO_ROOT_PASSWORD": "mongo-pass", "REDIS_PASSWORD": "redis-pass",
                "DALLOSH_TLS_CERTIFICATE": "/etc/tls/fullchain.pem", "DALLOSH_TLS_CERTIFICATE_KEY": "/etc/tls/key.pem"}


class MissingVariable(Exception):
    """compose.yaml marks the variable required (`${NAME:?message}`) and it is unset or empty."""


def interpolate(value: str, environ: dict[str, str]) -> str:
    """Compose's interpolation, in the forms compose.yaml uses: `${NAME}`, `${NAME:-default}`,
    `${NAME:?message}` (refused when unset or empty) and `$$` for a literal `$`."""

    def one(match: re.Match) -> str:
        if match[0] == "$$":
            return "$"
        found = environ.get(match["name"], "")
        if match["op"] == ":?" and not found:
            raise MissingVariable(match["name"])
        return match["arg"] if match["op"] == ":-" and not found else found

    return re.sub(r"\$\$|\$\{(?P<name>\w+)(?:(?P<op>:[-?])(?P<arg>[^}]*))?\}", one, value)


def render(template: str, environ: dict[str, str]) -> str:
    """What the nginx image's 20-envsubst-on-templates.sh writes: `$NAME` and `${NAME}` replaced
    for the names defined in the container's environment, anything else (nginx's own
    variables) left as it is."""
    return re.sub(r"\$(\{)?(\w*)(?(1)\})", lambda m: environ.get(m[2], m[0]), template)


def required_tool(name: str) -> str:
    """The path of a program these tests need. In CI its absence is a failure (bootstrap.sh
    installs it, and a skipped check would pass unnoticed); elsewhere the test is skipped,
    saying why. nginx lives in /usr/sbin, often off a non-root user's PATH."""
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if path:
        return path
    where = {"nginx": "scripts/bootstrap.sh installs Debian's nginx"}.get(name, f"Debian's {name} package")
    message = f"`{name}` is not installed ({where})"
    if IN_CI:
        pytest.fail(f"{message}; CI is set, so this is not skipped")
    pytest.skip(message)


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def environment(service: dict, environ: dict[str, str]) -> dict[str, str]:
    env = service.get("environment", {})
    assert isinstance(env, dict), "environment as a mapping"
    return {key: interpolate(str(value), environ) for key, value in env.items()}


def command_line(service: dict) -> str:
    command = service.get("command", "")
    return " ".join(command) if isinstance(command, list) else command


def proxy_environment(compose: dict, environ: dict[str, str], certificate: tuple[Path, Path]) -> dict[str, str]:
    """The proxy's environment from compose.yaml, except what only exists inside compose: the
    upstream host `web` (nginx resolves it when it loads) becomes 127.0.0.1, same port, and
    the certificate secrets become the throwaway pair."""
    env = environment(compose["services"]["proxy"], environ)
    upstream_port = env["NGINX_UPSTREAM"].rsplit(":", 1)[1]
    return {**env, "NGINX_UPSTREAM": f"127.0.0.1:{upstream_port}",
            "NGINX_SSL_CERTIFICATE": str(certificate[0]), "NGINX_SSL_CERTIFICATE_KEY": str(certificate[1])}


@pytest.fixture
def certificate(tmp_path) -> tuple[Path, Path]:
    """A self-signed certificate for localhost, valid one day."""
    openssl = required_tool("openssl")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True, timeout=60)
    return cert, key


def site_for_test(environ: dict[str, str], static: Path | None = None) -> tuple[str, int, int]:
    """The template rendered with `environ`, listening on free loopback ports instead of 80 and
    443 (`nginx -t` binds them too, which needs root and free ports), and serving `static`
    instead of /srv/static/ when given. Returns the site and its HTTP and HTTPS ports."""
    site = render(TEMPLATE.read_text(), environ)
    assert "${" not in site
    http_port, https_port = free_port(), free_port()
    changes = [("listen 80 ", f"listen 127.0.0.1:{http_port} "), ("listen 443 ", f"listen 127.0.0.1:{https_port} ")]
    if static:
        changes.append(("alias /srv/static/;", f"alias {static}/;"))
    for old, new in changes:
        assert site.count(old) == 1, old
        site = site.replace(old, new)
    return site, http_port, https_port


def write_nginx_config(directory: Path, site: str) -> Path:
    """The rendered site inside a minimal main configuration, as the image's nginx.conf
    includes conf.d/*.conf in http {}; pid, logs and temporary files stay in `directory`, so
    that nginx runs without root."""
    (directory / "conf.d").mkdir(exist_ok=True)
    (directory / "conf.d" / "default.conf").write_text(site)
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name};" if os.geteuid() == 0 else ""  # workers read tmp_path
    mime_types = "include /etc/nginx/mime.types;" if Path("/etc/nginx/mime.types").exists() else ""
    temp_paths = "\n".join(f"    {kind}_temp_path {directory / kind};"
                           for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    main = directory / "nginx.conf"
    main.write_text(f"""{user}
pid {directory / "nginx.pid"};
error_log {directory / "error.log"};
events {{}}
http {{
    {mime_types}
    access_log off;
{temp_paths}
    include {directory / "conf.d" / "default.conf"};
}}
""")
    return main


def test_the_template_uses_only_what_the_proxy_service_defines(compose):
    """The image leaves a variable it does not know as `${NAME}` in the config, and nginx then
    refuses to start on an unknown variable: every one the template uses must be set."""
    used = set(re.findall(r"\$\{(\w+)\}", TEMPLATE.read_text()))
    assert used, "the certificate paths and the upstream come from the environment"
    assert used <= set(compose["services"]["proxy"]["environment"]), used


def test_nginx_accepts_the_rendered_configuration(compose, certificate, tmp_path):
    nginx = required_tool("nginx")
    site, _, _ = site_for_test(proxy_environment(compose, OPERATOR_ENV, certificate))
    main = write_nginx_config(tmp_path, site)
    checked = subprocess.run([nginx, "-t", "-p", str(tmp_path), "-e", "stderr", "-c", str(main)],
                             capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "test is successful" in checked.stderr


def test_the_configuration_serves_https_only_with_modern_tls():
    template = TEMPLATE.read_text()
    servers = re.split(r"(?m)^server \{", template)[1:]
    plain = [s for s in servers if re.search(r"listen 80\b", s)]
    tls = [s for s in servers if re.search(r"listen 443 ssl\b", s)]
    assert len(plain) == 1 and len(tls) == 1 and len(servers) == 2
    assert "return 301 https://$host$request_uri;" in plain[0] and "proxy_pass" not in plain[0]
    assert re.search(r"ssl_protocols\s+TLSv1\.2 TLSv1\.3;", tls[0])
    assert "ssl_certificate     ${NGINX_SSL_CERTIFICATE};" in tls[0]
    assert "ssl_certificate_key ${NGINX_SSL_CERTIFICATE_KEY};" in tls[0]
    proxied = re.findall(r"location (\S+) \{([^}]*proxy_pass[^}]*)\}", tls[0])
    assert {path for path, _ in proxied} == {"/", "/ws/"}
    for _, block in proxied:
        assert "proxy_set_header X-Forwarded-Proto $scheme;" in block
    assert "location /static/" in tls[0]


class FakeDaphne(http.server.BaseHTTPRequestHandler):
    """Stands in for the web service: records each request's headers and answers them as
    JSON; under /django-hsts/ it sends its own HSTS header, as Django does."""

    protocol_version = "HTTP/1.1"
    seen: list[dict[str, str]]

    def do_GET(self):
        self.seen.append({"path": self.path, **{k.lower(): v for k, v in self.headers.items()}})
        body = json.dumps(self.seen[-1]).encode()
        self.send_response(200)
        if self.path.startswith("/django-hsts/"):
            self.send_header("Strict-Transport-Security", "max-age=1; includeSubDomains")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


DJANGO_PROBE = """
import json, django
django.setup()
from django.conf import settings
from django.http import HttpResponse
from django.middleware.security import SecurityMiddleware
from django.test import RequestFactory

response = SecurityMiddleware(lambda request: HttpResponse())(RequestFactory().get("/", secure=True))
print(json.dumps({"hsts": response.get("Strict-Transport-Security"),
                  "proxy_ssl_header": settings.SECURE_PROXY_SSL_HEADER}))
"""


def django_production(compose: dict, environ: dict[str, str]) -> dict:
    """What Django's production settings (DJANGO_DEBUG=0) do with the environment compose
    gives the web service: the HSTS header SecurityMiddleware sends on a secure request, and
    the header SECURE_PROXY_SSL_HEADER trusts."""
    web = environment(compose["services"]["web"], environ)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "DALLOSH_"))}
    env.update({key: value for key, value in web.items() if key.startswith("DJANGO_")},
               DJANGO_SETTINGS_MODULE="config.settings")
    done = subprocess.run([sys.executable, "-c", DJANGO_PROBE], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def wait_until_listening(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text() if log.exists() else "nginx exited"
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"nginx is not listening on {port}")


def start_nginx(nginx: str, directory: Path, env: dict[str, str], static: Path) -> tuple[subprocess.Popen, int, int]:
    """nginx on the rendered site, on free ports; started again on other ports when one it was
    given is taken before it binds it (the other test process picked it meanwhile)."""
    for _attempt in range(3):
        site, http_port, https_port = site_for_test(env, static)
        main = write_nginx_config(directory, site)
        log = directory / "nginx.stderr"
        with log.open("w") as stderr:
            server = subprocess.Popen([nginx, "-p", str(directory), "-e", "stderr", "-c", str(main),
                                       "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=stderr)
        try:
            wait_until_listening(https_port, server, log)
            wait_until_listening(http_port, server, log)
            return server, http_port, https_port
        except AssertionError:
            server.kill()
            server.wait()
            if "Address already in use" not in log.read_text():
                raise
    raise AssertionError(f"nginx found no free ports: {log.read_text()}")


@pytest.mark.parametrize("hsts_seconds, hsts_preload", [(None, None), ("600", "0"), ("0", "1")])
def test_nginx_redirects_to_https_and_hands_django_what_it_expects(compose, certificate, tmp_path, hsts_seconds,
                                                                    hsts_preload):
    """A real nginx on the rendered template, in front of a stand-in for Daphne (only the
    listening ports and the static root changed, see site_for_test)."""
    nginx = required_tool("nginx")
    environ = dict(OPERATOR_ENV)
    if hsts_seconds is not None:
        environ.update(DJANGO_HSTS_SECONDS=hsts_seconds, DJANGO_HSTS_PRELOAD=hsts_preload)
    django = django_production(compose, environ)

    FakeDaphne.seen = []
    upstream = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeDaphne)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    env = proxy_environment(compose, environ, certificate)
    env["NGINX_UPSTREAM"] = f"127.0.0.1:{upstream.server_address[1]}"
    static = tmp_path / "static"
    static.mkdir()
    (static / "app.0123456789ab.css").write_text("body {}")
    server, http_port, https_port = start_nginx(nginx, tmp_path, env, static)
    try:

        plain = http.client.HTTPConnection("127.0.0.1", http_port, timeout=10)
        plain.request("GET", "/queues/tech/?page=2", headers={"Host": "dallosh.example.com"})
        redirect = plain.getresponse()
        assert redirect.status == 301
        assert redirect.getheader("Location") == "https://dallosh.example.com/queues/tech/?page=2"
        assert FakeDaphne.seen == [], "plain HTTP never reaches Django"

        context = ssl.create_default_context(cafile=certificate[0])
        context.check_hostname = False

        def get(path: str, **headers: str) -> http.client.HTTPResponse:
            connection = http.client.HTTPSConnection("127.0.0.1", https_port, context=context, timeout=10)
            connection.request("GET", path, headers={"Host": "dallosh.example.com", **headers})
            response = connection.getresponse()
            response.read()
            return response

        page = get("/queues/tech/", **{"X-Forwarded-Proto": "http", "X-Forwarded-For": "203.0.113.9"})
        assert page.status == 200
        seen = FakeDaphne.seen[-1]
        # Django trusts the header nginx sets, with nginx's value, and never the client's own.
        header, value = django["proxy_ssl_header"]
        sent = {"HTTP_" + name.upper().replace("-", "_"): v for name, v in seen.items()}
        assert sent[header] == value == "https"
        assert seen["x-forwarded-for"] == "127.0.0.1" and seen["host"] == "dallosh.example.com"

        get("/ws/queues/tech/", Upgrade="websocket", Connection="Upgrade")
        seen = FakeDaphne.seen[-1]
        assert seen["upgrade"] == "websocket" and seen["connection"].lower() == "upgrade"
        assert seen["x-forwarded-proto"] == "https"

        # Responses nginx makes itself get Django's HSTS header; Django's own pass unchanged, once.
        asset = get("/static/app.0123456789ab.css")
        assert asset.status == 200 and "max-age=315360000" in asset.getheader("Cache-Control")
        assert asset.headers.get_all("Strict-Transport-Security") == ([django["hsts"]] if django["hsts"] else None)
        assert asset.getheader("X-Content-Type-Options") == "nosniff"
        own = get("/django-hsts/")
        assert own.headers.get_all("Strict-Transport-Security") == ["max-age=1; includeSubDomains"]
    finally:
        server.terminate()
        server.wait(timeout=10)
        upstream.shutdown()
        upstream.server_close()


def test_databases_require_credentials_from_the_environment(compose):
    services = compose["services"]
    mongods = [name for name, service in services.items() if command_line(service).startswith("mongod ")]
    assert mongods == ["mongo1", "mongo2", "mongo3"]
    for name in mongods:
        env = environment(services[name], OPERATOR_ENV)
        assert (env["MONGO_INITDB_ROOT_USERNAME"], env["MONGO_INITDB_ROOT_PASSWORD"]) == ("mongo-user", "mongo-pass")
        # A replica set with authentication needs its members to authenticate to each other.
        assert "--keyFile " in command_line(services[name]), name
        for missing in ("MONGO_ROOT_USERNAME", "MONGO_ROOT_PASSWORD"):
            with pytest.raises(MissingVariable):
                environment(services[name], {k: v for k, v in OPERATOR_ENV.items() if k != missing})

    redis = command_line(services["redis"])
    assert "--requirepass redis-pass" in interpolate(redis, OPERATOR_ENV)
    with pytest.raises(MissingVariable):
        interpolate(redis, {k: v for k, v in OPERATOR_ENV.items() if k != "REDIS_PASSWORD"})


def test_every_service_connects_with_the_credentials(compose):
    services = compose["services"]
    apps = {name for name, service in services.items() if "build" in service}
    assert {"web", "worker", "label-worker", "refine-worker", "migrate"} <= apps
    for name, service in services.items():
        env = environment(service, OPERATOR_ENV)
        if name in apps:
            assert {"MONGODB_URI", "REDIS_URL"} <= set(env), name
        if "MONGODB_URI" in env:
            uri = parse_uri(env["MONGODB_URI"])
            assert (uri["username"], uri["password"]) == ("mongo-user", "mongo-pass"), name
            assert uri["options"]["authSource"] == "admin" and uri["options"]["replicaSet"] == "rs0", name
        if "REDIS_URL" in env:
            assert re.fullmatch(r"redis://:redis-pass@redis:\d+/\d+", env["REDIS_URL"]), name
    # mongo-init initiates the replica set, which needs the root login too.
    assert "-p \"$MONGO_ROOT_PASSWORD\"" in interpolate(command_line(services["mongo-init"]), OPERATOR_ENV)


def test_the_mail_channel_is_configured_from_the_environment_and_watched_under_its_profile(compose):
    services = compose["services"]
    mail_env = {**OPERATOR_ENV, "DALLOSH_IMAP_URL": "imaps://support:pw@mail.example.fr/INBOX",
                "DALLOSH_SMTP_URL": "smtps://support:pw@mail.example.fr"}
    for name, service in services.items():
        if "build" in service:
            env = environment(service, mail_env)
            assert env["DALLOSH_IMAP_URL"] == "imaps://support:pw@mail.example.fr/INBOX", name
            assert env["DALLOSH_SMTP_URL"] == "smtps://support:pw@mail.example.fr", name
            assert environment(service, OPERATOR_ENV)["DALLOSH_IMAP_URL"] == "", name  # optional: none by default
    watcher = services["mailbox-watcher"]
    assert command_line(watcher) == "python manage.py poll_mailbox --watch" and watcher["profiles"] == ["mail"]
    example = (ROOT / "deploy" / "env.example").read_text()
    assert all(f"\n{name}=" in example for name in ("DALLOSH_IMAP_URL", "DALLOSH_SMTP_URL"))


def test_the_proxy_matches_the_web_service(compose):
    services = compose["services"]
    web, proxy = services["web"], services["proxy"]
    port = re.search(r"daphne .*-p (\d+)", command_line(web))[1]
    assert port in web["expose"]
    assert proxy["environment"]["NGINX_UPSTREAM"] == f"web:{port}"
    assert {"80:80", "443:443"} <= set(proxy["ports"])
    assert any(volume.startswith("./deploy/nginx.conf.template:/etc/nginx/templates/") and ".template:" in volume
               for volume in proxy["volumes"])
    # The certificate: files named by the operator's environment, handed to nginx as secrets.
    for secret in proxy["secrets"]:
        assert re.fullmatch(r"\$\{\w+:\?[^}]+\}", compose["secrets"][secret]["file"]), secret
    assert {proxy["environment"]["NGINX_SSL_CERTIFICATE"], proxy["environment"]["NGINX_SSL_CERTIFICATE_KEY"]} == {
        f"/run/secrets/{secret}" for secret in proxy["secrets"]}
    # Static files: nginx serves the volume collectstatic writes into.
    static_volume = next(v.split(":")[0] for v in services["migrate"]["volumes"] if ":/app/staticfiles" in v)
    assert f"{static_volume}:/srv/static:ro" in proxy["volumes"]
    # HSTS: Django and nginx read the same variables.
    for key in ("DJANGO_HSTS_SECONDS", "DJANGO_HSTS_PRELOAD"):
        assert proxy["environment"][key] == web["environment"][key], key
