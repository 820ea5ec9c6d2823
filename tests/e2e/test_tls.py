"""TLS is verified, always: kinsta-cron against the simulator behind HTTPS.

A throw-away CA signs a certificate for 127.0.0.1.  With that CA as
api.ca_file the run succeeds; without it (the system's CAs only), with a
certificate for another name, or over plain http to a non-loopback host,
nothing is sent and the run fails saying why.
"""
import os
import shutil
import ssl
import subprocess
import sys

import pytest

SRC = os.environ.get("KCRON_SOURCE_DIR",
                     os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("KCRON_BIN", os.path.join(SRC, "build", "kinsta-cron"))
sys.path.insert(0, os.path.join(SRC, "tests", "sim"))
from kinsta_sim import Simulator  # noqa: E402

KEY = "test-key-acme"
COMPANY = "aaaaaaaa-0000-4000-8000-000000000001"
ENV = "a2222222-2222-4222-8222-222222222222"


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True,
                   capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed (tests/deps installs it)")
    d = tmp_path_factory.mktemp("pki")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
            "ca.key", "-out", "ca.pem", "-days", "2", "-subj",
            "/CN=kinsta-cron test CA", cwd=d)
    for name, san in (("good", "IP:127.0.0.1"),
                      ("other", "DNS:api.example.invalid")):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout",
                f"{name}.key", "-out", f"{name}.csr", "-subj", "/CN=test",
                cwd=d)
        (d / f"{name}.ext").write_text(f"subjectAltName={san}\n")
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem",
                "-CAkey", "ca.key", "-CAcreateserial", "-out",
                f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext",
                cwd=d)
    return d


def tls_sim(pki, cert):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(pki / f"{cert}.pem"), str(pki / f"{cert}.key"))
    return Simulator(op_seconds=0.2, quiet=True, ssl_context=ctx).start()


def run_job(tmp_path, url, ca_file=None):
    key = tmp_path / "acme.key"
    key.write_text(KEY + "\n")
    key.chmod(0o600)
    ca = f'ca_file = "{ca_file}";' if ca_file else ""
    conf = tmp_path / "k.conf"
    conf.write_text(f"""
api = {{ url = "{url}"; timeout = 10; {ca} }};
state_dir = "{tmp_path}";
accounts = ( {{ name = "acme"; company = "{COMPANY}";
               key_file = "{key}"; }} );
jobs = ( {{ name = "cc"; schedule = "@daily"; action = "clear-cache";
           environment_id = "{ENV}"; retries = 0; }} );
""")
    p = subprocess.run([BIN, "-c", str(conf), "run", "cc"],
                       capture_output=True, text=True, timeout=120)
    assert KEY not in p.stdout + p.stderr
    return p


def test_verified_with_the_right_ca(pki, tmp_path):
    sim = tls_sim(pki, "good")
    try:
        p = run_job(tmp_path, f"https://127.0.0.1:{sim.port}/v2",
                    pki / "ca.pem")
        assert p.returncode == 0, p.stdout + p.stderr
        assert "outcome=succeeded" in p.stdout
    finally:
        sim.stop()


def test_unknown_ca_is_refused(pki, tmp_path):
    sim = tls_sim(pki, "good")
    try:
        p = run_job(tmp_path, f"https://127.0.0.1:{sim.port}/v2")
        assert p.returncode == 1, p.stdout
        assert "outcome=failed" in p.stdout
        assert "certificate" in p.stdout.lower(), p.stdout
    finally:
        sim.stop()


def test_wrong_name_is_refused(pki, tmp_path):
    sim = tls_sim(pki, "other")
    try:
        p = run_job(tmp_path, f"https://127.0.0.1:{sim.port}/v2",
                    pki / "ca.pem")
        assert p.returncode == 1, p.stdout
        assert "outcome=failed" in p.stdout
        assert "127.0.0.1" in p.stdout or "certificate" in p.stdout.lower()
    finally:
        sim.stop()


def test_plain_http_only_to_loopback(tmp_path):
    # check refuses it before anything runs
    key = tmp_path / "acme.key"
    key.write_text(KEY + "\n")
    key.chmod(0o600)
    conf = tmp_path / "k.conf"
    conf.write_text(f"""
api = {{ url = "http://api.kinsta.com/v2"; }};
accounts = ( {{ name = "acme"; company = "{COMPANY}";
               key_file = "{key}"; }} );
jobs = ();
""")
    p = subprocess.run([BIN, "-c", str(conf), "check"], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 1
    assert "must use https" in p.stderr, p.stderr
