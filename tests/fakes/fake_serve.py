"""What every fake provider in this folder shares: the loopback server, its
command line (--port, --portfile, --log) and a clean stop. Standard library
only; each fake is run as a script, so this sits next to it on sys.path."""
import argparse
import os
import signal
import sys
import threading
from http.server import ThreadingHTTPServer


class Server(ThreadingHTTPServer):
    daemon_threads = True       # a hanging handler must not block the exit
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        # Clients that gave up (timeout tests) are expected, not errors.
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


def arguments(doc):
    """The shared options; a fake adds its own, then calls parse_args()."""
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--portfile")
    ap.add_argument("--log")
    return ap


def serve(handler, state, port, portfile):
    """Listen on 127.0.0.1:port (0: any), write the port to portfile once
    listening (atomically: the file appears complete), serve until SIGTERM
    or SIGINT. state.stop (an Event), when the state has one, is set on the
    way out so delayed answers end; state.close() or state.log.close()
    closes the request log."""
    httpd = Server(("127.0.0.1", port), handler)
    httpd.state = state
    stop_event = getattr(state, "stop", None)

    def stop(signum, frame):
        if stop_event is not None:
            stop_event.set()
        # shutdown() waits for serve_forever to return, so not from the
        # thread running it (this handler runs on the main thread).
        threading.Thread(target=httpd.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if portfile:
        tmp = portfile + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % httpd.server_address[1])
        os.replace(tmp, portfile)
    try:
        httpd.serve_forever(poll_interval=0.1)
    finally:
        if stop_event is not None:
            stop_event.set()
        httpd.server_close()
        if hasattr(state, "close"):
            state.close()
        elif getattr(state, "log", None):
            state.log.close()
    return 0
