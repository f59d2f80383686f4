//! The routes: /health answers 200, anything else 404.

pub fn respond(path: &str) -> (&'static str, String) {
    match path {
        "/health" => ("200 OK", "ok\n".to_string()),
        "/" => ("200 OK", "rust-http: hello\n".to_string()),
        _ => ("404 Not Found", "not found\n".to_string()),
    }
}
