//! dockopt e2e sample: an HTTP server on the standard library only.
//! `--serve` listens on $PORT (8080); `--selftest` serves on an ephemeral port,
//! requests /health over HTTP and exits 0 on a 200; `--version` prints the version.

mod health;

use std::env;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::ExitCode;
use std::thread;

fn handle(mut stream: TcpStream) {
    let mut buf = [0u8; 1024];
    let n = stream.read(&mut buf).unwrap_or(0);
    let request = String::from_utf8_lossy(&buf[..n]);
    let path = request.split_whitespace().nth(1).unwrap_or("/");
    let (status, body) = health::respond(path);
    let reply = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(reply.as_bytes());
}

fn selftest() -> ExitCode {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address");
    let server = thread::spawn(move || {
        if let Ok((stream, _)) = listener.accept() {
            handle(stream);
        }
    });
    let mut client = TcpStream::connect(addr).expect("connect");
    client
        .write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .expect("request");
    let mut reply = String::new();
    client.read_to_string(&mut reply).expect("reply");
    let _ = server.join();
    let code = reply.split_whitespace().nth(1).unwrap_or("?").to_string();
    println!("selftest: {code}");
    if code == "200" { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

fn main() -> ExitCode {
    match env::args().nth(1).as_deref() {
        Some("--version") => {
            println!("rust-http {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Some("--selftest") => selftest(),
        _ => {
            let port = env::var("PORT").unwrap_or_else(|_| "8080".to_string());
            let listener = TcpListener::bind(format!("0.0.0.0:{port}")).expect("bind");
            println!("listening on {port}");
            for stream in listener.incoming().flatten() {
                thread::spawn(move || handle(stream));
            }
            ExitCode::SUCCESS
        }
    }
}
