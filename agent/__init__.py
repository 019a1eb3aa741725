"""The device side: the reference agent a sensor at home runs (agent.reference, `python -m
agent`) and the fleet simulator built on it (agent.fleet). It speaks the device protocol
(docs/device-protocol.md) and imports nothing of the server."""
