import express from "express";
import { AddressInfo } from "net";
import http from "http";
import { greeting } from "./greeting";

const app = express();

app.get("/health", (_req, res) => {
  res.json({ status: "ok", service: "express-ts" });
});

app.get("/hello/:name", (req, res) => {
  res.type("text/plain").send(greeting(req.params.name));
});

// `--selftest`: serve on an ephemeral port, request /health over HTTP, exit 0 if it
// answered 200 (the e2e smoke test; no curl needed in slim images).
function selftest(): void {
  const server = app.listen(0, "127.0.0.1", () => {
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
  app.listen(port, () => console.log(`express-ts listening on ${port}`));
}
