"""A paho-mqtt 2.x client set up as ``[mqtt]`` says, for the daemon, the player and doctor."""

from __future__ import annotations

import os
import ssl
from pathlib import Path

import paho.mqtt.client as mqtt

from moodcast.edge.config import Config
from moodcast.edge.errors import ConfigError


def read_password(config: Config) -> str | None:
    """From ``mqtt.password_file`` or ``MOODCAST_MQTT_PASSWORD``; never logged."""
    if config.mqtt.password_file:
        try:
            return Path(config.mqtt.password_file).read_text().strip()
        except OSError as exc:
            raise ConfigError(f"mqtt.password_file: cannot read {config.mqtt.password_file} ({exc.strerror})") from None
    return os.environ.get("MOODCAST_MQTT_PASSWORD")


def make_client(config: Config, client_id: str) -> mqtt.Client:
    """A paho client set up as ``[mqtt]`` says: protocol, username and password, TLS."""
    m = config.mqtt
    protocol = mqtt.MQTTv5 if m.protocol == "5" else mqtt.MQTTv311
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=protocol)
    if m.username:
        client.username_pw_set(m.username, read_password(config))
    if m.tls:
        try:
            client.tls_set(
                ca_certs=m.ca_file or None,
                certfile=m.cert_file or None,
                keyfile=m.key_file or None,
                tls_version=ssl.PROTOCOL_TLS_CLIENT,
            )
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"mqtt.ca_file/cert_file/key_file: cannot load ({exc})") from None
    return client
