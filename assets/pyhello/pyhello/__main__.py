"""pyhello: a stdlib HTTP server that raijin's demo and tests deploy as a python app.

Serves on 127.0.0.1:$PORT (default 8100):
  GET /        200 "pyhello VERSION (dep idna IDNA_VERSION)", VERSION from $RAIJIN_VERSION
  GET /health  200 "ok"
  other paths  404
Run it as `pyhello` (console script) or `python -m pyhello`.
"""

import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.metadata import version as dist_version

import idna  # noqa: F401  the one dependency: importing it proves it was installed

DEP = "idna"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # every reply has Content-Length and Connection: close

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path == "/":
            release = os.environ.get("RAIJIN_VERSION") or "unknown"
            self.reply(200, f"pyhello {release} (dep {DEP} {dist_version(DEP)})\n")
        elif path == "/health":
            self.reply(200, "ok\n")
        else:
            self.reply(404, "not found\n")

    def reply(self, status, body):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)

    def log_request(self, code="-", size="-"):
        # One line per request on stdout ("GET / 200"), flushed at once for journald.
        path = getattr(self, "path", "-").split("?", 1)[0][:200]
        print(f"{getattr(self, 'command', None) or 'BAD'} {path} {int(code) if code != '-' else code}", flush=True)

    def log_error(self, fmt, *args):
        print(fmt % args, file=sys.stderr, flush=True)


def main():
    port = int(os.environ.get("PORT", "8100"))
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    # Stop with exit status 0 on SIGTERM (systemctl stop).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"pyhello listening on 127.0.0.1:{port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
