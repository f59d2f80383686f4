// A server that, like most node apps, may or may not handle SIGTERM: with
// HANDLE_SIGTERM=0 it installs no handler (then only an init in front of it makes
// `docker stop` work: the kernel ignores SIGTERM for a PID 1 without a handler).
const fs = require("fs");
const http = require("http");

const server = http.createServer((req, res) => res.end("ok\n"));
if (process.env.HANDLE_SIGTERM !== "0") {
  process.on("SIGTERM", () => {
    fs.writeFileSync("/tmp/sigterm", "got SIGTERM");
    server.close(() => process.exit(0));
  });
}
server.listen(0, "127.0.0.1", () => {
  fs.writeFileSync("/tmp/ready", String(process.pid));
});
