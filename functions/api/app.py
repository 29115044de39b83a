"""Players', operators' and finance HTTPS API: a Chalice app, one Lambda behind API Gateway.

The views live in `ember.runtime.api` so the Knative and local HTTP adapter serve the
very same app. Nothing here imports web3 or ccxt: the API's cold start stays small.
"""

from chalice import Chalice

from ember.runtime.api import routes

app = Chalice(app_name="ember-api")
routes.register(app)
