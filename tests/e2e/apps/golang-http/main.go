// A Go HTTP server without external modules (dockopt e2e sample).
//
// `app -selftest` serves on an ephemeral port and requests /health over HTTP: the
// e2e smoke test, which also works in an image without a shell.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"time"
)

var version = "0.3.2"

func routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"status": "ok", "version": version})
	})
	mux.HandleFunc("/time", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, formatNow(time.Now()))
	})
	return mux
}

func selftest() int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "selftest:", err)
		return 1
	}
	go func() { _ = http.Serve(ln, routes()) }()
	resp, err := http.Get("http://" + ln.Addr().String() + "/health")
	if err != nil {
		fmt.Fprintln(os.Stderr, "selftest:", err)
		return 1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Printf("selftest: %d %s", resp.StatusCode, body)
	if resp.StatusCode != http.StatusOK {
		return 1
	}
	return 0
}

func main() {
	test := flag.Bool("selftest", false, "serve on an ephemeral port, request /health, exit")
	showVersion := flag.Bool("version", false, "print the version")
	flag.Parse()
	if *showVersion {
		fmt.Println("golang-http", version)
		return
	}
	if *test {
		os.Exit(selftest())
	}
	addr := ":" + getenv("PORT", "8080")
	log.Printf("golang-http %s listening on %s", version, addr)
	log.Fatal(http.ListenAndServe(addr, routes()))
}

func getenv(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}
