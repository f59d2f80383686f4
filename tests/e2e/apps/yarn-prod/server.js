"use strict";
const http = require("http");
const ms = require("ms");

const started = Date.now();

function handler(req, res) {
  if (req.url === "/health") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ status: "ok", uptime: ms(Date.now() - started) }));
    return;
  }
  res.writeHead(404, { "content-type": "text/plain" });
  res.end("not found\n");
}

const server = http.createServer(handler);

if (process.argv.includes("--selftest")) {
  // Serve on an ephemeral port and request /health over HTTP (the e2e smoke test).
  server.listen(0, "127.0.0.1", () => {
    const { port } = server.address();
    http.get({ host: "127.0.0.1", port, path: "/health" }, (res) => {
      let body = "";
      res.on("data", (c) => (body += c));
      res.on("end", () => {
        console.log(`selftest: ${res.statusCode} ${body}`);
        process.exit(res.statusCode === 200 ? 0 : 1);
      });
    }).on("error", (err) => {
      console.error(`selftest failed: ${err.message}`);
      process.exit(1);
    });
  });
} else {
  const port = Number(process.env.PORT || 8080);
  server.listen(port, () => console.log(`yarn-prod listening on ${port}`));
}
