import http from "http";
import { AddressInfo } from "net";
import ms from "ms";
import { greeting } from "./greeting";

const started = Date.now();

const server = http.createServer((req, res) => {
  if (req.url === "/health") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ status: "ok", up: ms(Date.now() - started) }));
    return;
  }
  res.writeHead(200, { "content-type": "text/plain" });
  res.end(greeting(decodeURIComponent((req.url || "/").slice(1))));
});

// `--selftest`: serve on an ephemeral port, request /health over HTTP, exit 0 if it
// answered 200 (the e2e smoke test; no curl needed in slim images).
function selftest(): void {
  server.listen(0, "127.0.0.1", () => {
    const { port } = server.address() as AddressInfo;
    http
      .get({ host: "127.0.0.1", port, path: "/health" }, (res) => {
        let body = "";
        res.on("data", (chunk) => (body += chunk));
        res.on("end", () => {
          console.log(`selftest: ${res.statusCode} ${body}`);
          server.close();
          process.exit(res.statusCode === 200 ? 0 : 1);
        });
      })
      .on("error", (err) => {
        console.error(`selftest failed: ${err.message}`);
        process.exit(1);
      });
  });
}

if (process.argv.includes("--selftest")) {
  selftest();
} else {
  const port = Number(process.env.PORT || 3000);
  server.listen(port, () => console.log(`listening on ${port}`));
}
