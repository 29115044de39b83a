"""Local stack: PostgreSQL, Redis and Kafka for `ember up`, from the environment or embedded.

Services named in the environment (DATABASE_URL, REDIS_URL, KAFKA_BOOTSTRAP_SERVERS) are used
as given and never touched; the others run as detached processes on free loopback ports, with
data, logs and `stack.json` under a root folder (default `.ember/`).
"""

from ember.runtime.local_stack.errors import StackError
from ember.runtime.local_stack.stack import ServiceStatus, StackUrls, down, status, up

__all__ = ["ServiceStatus", "StackError", "StackUrls", "down", "status", "up"]
