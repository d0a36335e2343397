"""A stand-in for `provisioner serve`'s node API, for the real-HTTP tests of the node controller.

Prints its port on the first line of stdout, then serves until killed. Checks the shape of
what the controller sends, so a contract mismatch fails the test with a 400.
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN = "tok-py"
CREDENTIAL = "c-py"
CAPACITY_KEYS = {"coresMax", "coresFree", "memoryMiBMax", "memoryMiBFree", "diskMiBMax", "diskMiBFree", "hypervisor", "hardwareVirtualization"}
last_sequence = 0


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        global last_sequence
        length = int(self.headers.get("Content-Length", "0"))
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            return self.reply(400, {"error": "body is not JSON"})
        if self.headers.get("Content-Type") != "application/json":
            return self.reply(400, {"error": "Content-Type is not application/json"})
        if not CAPACITY_KEYS <= set(body.get("capacity", {})):
            return self.reply(400, {"error": "capacity is incomplete"})
        if self.path == "/api/v1/enroll":
            if body.get("token") != TOKEN:
                return self.reply(401, {"error": "bad token"})
            if not body.get("mac") or "controllerVersion" not in body:
                return self.reply(400, {"error": "mac or controllerVersion missing"})
            return self.reply(200, {"hostname": "py-node", "credential": CREDENTIAL, "heartbeatSeconds": 2})
        if self.path == "/api/v1/heartbeat":
            if self.headers.get("Authorization") != "Bearer " + CREDENTIAL:
                return self.reply(401, {"error": "unknown credential"})
            if body.get("sequence", 0) <= last_sequence:
                return self.reply(409, {"error": "stale sequence"})
            last_sequence = body["sequence"]
            return self.reply(200, {"run": [], "terminate": [], "heartbeatSeconds": 2})
        return self.reply(404, {"error": "no such path " + self.path})

    def reply(self, status, obj):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt, *args):
        sys.stderr.write(fmt % args + "\n")


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
