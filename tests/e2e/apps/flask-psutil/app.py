"""A small Flask service reporting host stats (dockopt e2e sample).

`python app.py --selftest` serves on an ephemeral port and requests /health over
HTTP: the e2e smoke test (no curl needed in slim images).
"""

import json
import sys
import threading
import urllib.request

import psutil
from flask import Flask, jsonify
from stats import summary
from werkzeug.serving import make_server

app = Flask(__name__)


@app.get("/health")
def health():
    return jsonify(status="ok", psutil=psutil.__version__)


@app.get("/stats")
def stats():
    return jsonify(summary())


def selftest() -> int:
    server = make_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}/health"
    with urllib.request.urlopen(url, timeout=10) as resp:
        body = json.loads(resp.read())
        print(f"selftest: {resp.status} {json.dumps(body, sort_keys=True)}")
        ok = resp.status == 200 and body.get("status") == "ok"
    server.shutdown()
    return 0 if ok else 1


if __name__ == "__main__":
    if "--selftest" in sys.argv:
        sys.exit(selftest())
    app.run(host="0.0.0.0", port=5000)
