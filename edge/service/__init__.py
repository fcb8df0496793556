"""The processes and their I/O: the daemon loop, MQTT publisher and contract, HTTP API, frame capture."""
