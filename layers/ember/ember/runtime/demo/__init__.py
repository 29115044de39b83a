"""`ember demo`: all of Ember on one machine, with players betting over HTTP.

```python
code = run_demo(DemoOptions(root=Path(".ember"), players=5, rounds=3, speed=1.0), console, log)
```
- `stack`: the local stack (env-named services as given, the rest embedded), moto for S3,
  Secrets Manager and SSM, the schema, the contracts and the Uniswap pool (reused while the
  chain holds them), the topics, the demo's market;
- `services`: the API (HTTP adapter), keeper, relay and buy_tokens/burn consumers, as
  `ember` subprocesses;
- `players`, `rounds`, `client`: players funded through the signed deposit webhook, betting
  through the API with JWTs and Idempotency-Keys (one deliberate replay per round);
- `stats`, `live`: the live view; `audit`, `summary`, `report`: the end of the run.
"""

from .market import DemoOptions
from .run import INTERRUPTED, run_demo
from .stack import recreate_database

__all__ = ["INTERRUPTED", "DemoOptions", "recreate_database", "run_demo"]
