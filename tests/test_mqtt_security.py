"""TLS with a certificate made in the test, and username/password authentication, against a real
mosquitto on 127.0.0.1."""

import shutil
import signal
import subprocess
import time

import pytest
from conftest import Broker
from mqtt_helpers import Recorder, start_daemon

from edge.config import SAMPLES_DIR

CLIP = str(SAMPLES_DIR / "astronaut.avi")


def openssl(*args: str, cwd) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def certificates(tmp_path):
    if shutil.which("openssl") is None:
        pytest.fail("openssl is missing (apt-get install openssl)")
    openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "2",
        "-subj",
        "/CN=moodcast test CA",
        cwd=tmp_path,
    )
    openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
        cwd=tmp_path,
    )
    (tmp_path / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    openssl(
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.crt",
        "-days",
        "2",
        "-extfile",
        "san.ext",
        cwd=tmp_path,
    )
    return tmp_path


def test_tls_with_the_ca_connects_and_without_it_is_refused(certificates, tmp_path):
    broker = Broker(
        tmp_path,
        f"cafile {certificates / 'ca.crt'}\ncertfile {certificates / 'server.crt'}\n"
        f"keyfile {certificates / 'server.key'}\n",
    ).start()
    rec = Recorder(broker.port, tls_ca=str(certificates / "ca.crt"))
    good = start_daemon(
        broker.port,
        "tls1",
        "--source",
        CLIP,
        "--loop",
        "--set",
        "mqtt.tls=true",
        "--set",
        f"mqtt.ca_file={certificates / 'ca.crt'}",
    )
    bad = start_daemon(
        broker.port, "tls2", "--source", CLIP, "--loop", "--set", "mqtt.tls=true", log=tmp_path / "bad.log"
    )  # system CAs: the test CA is unknown to them
    try:
        rec.wait_for(lambda m: m.topic == "moodcast/tls1/state", timeout=20, what="state over TLS")
        time.sleep(2)
        assert not rec.on("moodcast/tls2/availability"), "a broker with an unknown CA was trusted"
        assert bad.poll() is None  # it keeps retrying, it does not crash
    finally:
        for proc in (good, bad):
            proc.send_signal(signal.SIGTERM)
            proc.wait(10)
        rec.close()
        broker.stop()
    assert "certificate verify failed" in (tmp_path / "bad.log").read_text()


@pytest.fixture
def password_broker(tmp_path):
    passwd = tmp_path / "passwd"
    subprocess.run(
        ["mosquitto_passwd", "-b", "-c", str(passwd), "speaker", "s3cret-Pa55"], check=True, capture_output=True
    )
    passwd.chmod(0o600)
    broker = Broker(tmp_path, f"password_file {passwd}\n").start()
    broker.conf.write_text(broker.conf.read_text().replace("allow_anonymous true", "allow_anonymous false"))
    broker.stop()
    broker.start()
    yield broker
    broker.stop()


def test_wrong_password_is_refused_and_never_logged(password_broker, tmp_path):
    port = password_broker.port
    watcher = subprocess.Popen(
        ["mosquitto_sub", "-p", str(port), "-u", "speaker", "-P", "s3cret-Pa55", "-t", "moodcast/#", "-v"],
        stdout=subprocess.PIPE,
        text=True,
    )
    secret = tmp_path / "password"
    secret.write_text("s3cret-Pa55\n")
    right = start_daemon(
        port,
        "auth1",
        "--source",
        CLIP,
        "--loop",
        "--set",
        "mqtt.username=speaker",
        "--set",
        f"mqtt.password_file={secret}",
    )
    wrong = start_daemon(
        port,
        "auth2",
        "--source",
        CLIP,
        "--loop",
        "--set",
        "mqtt.username=speaker",
        env={"MOODCAST_MQTT_PASSWORD": "guessed-Pa55"},
        log=tmp_path / "wrong.log",
    )
    try:
        time.sleep(6)
    finally:
        for proc in (right, wrong):
            proc.send_signal(signal.SIGTERM)
            proc.wait(10)
        time.sleep(0.5)
        watcher.terminate()
    seen = watcher.communicate(timeout=5)[0]
    assert "moodcast/auth1/availability online" in seen
    assert "moodcast/auth2/" not in seen
    log = (tmp_path / "wrong.log").read_text()
    assert "refused" in log and "guessed-Pa55" not in log
