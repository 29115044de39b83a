"""Serves the Chalice app over plain HTTP, as API Gateway (REST API, proxy integration) would.

On AWS the Chalice app is a Lambda behind API Gateway. On Knative and on a laptop there is
no API Gateway, so this adapter turns each HTTP request into a REST proxy event (payload
format 1.0) and calls the very same app object as a Lambda handler:

```python
from ember.runtime.http import make_wsgi_app, serve

wsgi_app = make_wsgi_app(app)          # any WSGI server can host it
serve(app, host="0.0.0.0", port=8080)  # or let waitress do it; blocks
```
The same server answers `GET /metrics` (Prometheus) and, given `sinks=EventSinks(...)`,
Knative KafkaSource and PingSource CloudEvents with the Lambda handlers of the consumers and
schedules (`python -m ember.runtime.http --help`).
"""

from .server import make_server, serve
from .sinks import EventSinks
from .wsgi import MAX_BODY_BYTES, make_wsgi_app

__all__ = ["MAX_BODY_BYTES", "EventSinks", "make_server", "make_wsgi_app", "serve"]
