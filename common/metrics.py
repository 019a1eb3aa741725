"""What the processes count for Prometheus (served at /metrics: celc/ops.py).

Several daphne processes, the Celery worker's children and beat each count for themselves.
With `PROMETHEUS_MULTIPROC_DIR` set (production: one directory per machine, shared by all
of its processes; `make run` sets one), prometheus_client keeps each process's numbers in
a file there and /metrics adds them up across the machine's processes, whichever daphne
answers: counters summed, open sockets per process (a `pid` label). Without it (tests of
one process), each process counts in memory.

Counting is a lock and a write into a memory-mapped file, a few microseconds: the hub
counts ticks and acks once per flush, not per frame (docs/performance.md).
"""

from prometheus_client import Counter, Gauge, Histogram

TICKS_RECEIVED = Counter(
    "celc_ticks_received", "Ticks parsed from devices' frames (each tick of a batch)"
)
TICKS_STORED = Counter(
    "celc_ticks_stored", "Ticks written by a flush of a web process (an ack means stored)"
)
ACKS_SENT = Counter("celc_acks_sent", "Acks sent to devices")
# A device's oldest tick of a flush: from its frame arriving to the ack going out. Sampled:
# at most devices.hub.LATENCY_SAMPLE acks a flush (quantiles hold; the count is not the acks').
ACK_LATENCY = Histogram(
    "celc_ack_latency_seconds",
    "From a device's frame arriving to its ack (oldest tick of a flush; sampled per flush)",
    buckets=(0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0),
)
PROTOCOL_ERRORS = Counter(
    "celc_protocol_errors", "Error frames sent to devices, by the protocol's code", ["code"]
)
FLUSH_FAILURES = Counter("celc_ingest_flush_failures", "Flushes of ticks that failed (retried)")
INGEST_LAG = Gauge(
    "celc_ingest_lag_seconds",
    "Age of the oldest tick a web process holds and has not stored yet",
    multiprocess_mode="liveall",
)
DEVICE_SOCKETS = Gauge(
    "celc_device_sockets", "Open device WebSockets, per process", multiprocess_mode="liveall"
)
HOUSEHOLD_SOCKETS = Gauge(
    "celc_household_sockets",
    "Open household dashboard WebSockets, per process",
    multiprocess_mode="liveall",
)
BOARD_SOCKETS = Gauge(
    "celc_board_sockets", "Open board WebSockets, per process", multiprocess_mode="liveall"
)
BROADCASTS = Counter(
    "celc_broadcasts", "Live messages published to pages, by message type", ["type"]
)
BROADCAST_FAILURES = Counter("celc_broadcast_failures", "Live messages Redis did not take")
ACCRUAL_RUN_SECONDS = Histogram(
    "celc_accrual_run_seconds",
    "Duration of an accrual run (one shard), as the worker timed it",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 2.0, 5.0),
)
