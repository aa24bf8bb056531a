//! End-to-end tests live in `tests/tests/`: each starts real services (nats-server, ingest,
//! st-sim) and checks what crosses between them.
