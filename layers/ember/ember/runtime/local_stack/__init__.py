"""Local stack: PostgreSQL, Redis, Kafka and a chain for `ember up`, from the env or embedded.

Services named in the environment (DATABASE_URL, REDIS_URL, KAFKA_BOOTSTRAP_SERVERS,
CHAIN_RPC_URL) are used as given and never touched; the others run as detached processes on
free loopback ports, with data, logs and `stack.json` under a root folder (default `.ember/`).
The chain (a Hardhat node) starts only when asked for: `up(with_chain=True)` or `up_chain`.
"""

from ember.runtime.local_stack.errors import StackError
from ember.runtime.local_stack.stack import ServiceStatus, StackUrls, down, status, up, up_chain

__all__ = ["ServiceStatus", "StackError", "StackUrls", "down", "status", "up", "up_chain"]
