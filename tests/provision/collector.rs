//! A loopback OTLP/HTTP collector: accepts any number of connections and
//! requests (kept alive or not), answers each with `200 {}`, and keeps
//! every request body so a test can read what was exported.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex, PoisonError};

const OK: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";

type Bodies = Arc<Mutex<Vec<Vec<u8>>>>;

/// The collector; it listens until the test process ends, so its port is
/// never released while a test may still point at it.
pub struct Collector {
    url: String,
    bodies: Bodies,
}

impl Collector {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the collector");
        let url = format!(
            "http://{}",
            listener.local_addr().expect("collector address")
        );
        let bodies = Bodies::default();
        let sink = Arc::clone(&bodies);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let sink = Arc::clone(&sink);
                std::thread::spawn(move || serve(stream, &sink));
            }
        });
        Self { url, bodies }
    }

    /// `http://127.0.0.1:PORT`, for `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Every request body received so far.
    pub fn bodies(&self) -> Vec<Vec<u8>> {
        self.bodies
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

fn serve(stream: TcpStream, sink: &Mutex<Vec<Vec<u8>>>) {
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut writer = stream;
    while let Some(body) = read_request(&mut reader) {
        sink.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(body);
        if writer.write_all(OK).is_err() {
            return;
        }
    }
}

/// One request's body; `None` when the connection ends.
fn read_request(r: &mut impl BufRead) -> Option<Vec<u8>> {
    let mut line = String::new();
    if r.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let (mut length, mut chunked) = (0usize, false);
    loop {
        line.clear();
        if r.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().ok()?;
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value.to_ascii_lowercase().contains("chunked");
            }
        }
    }
    if chunked {
        return read_chunked(r);
    }
    let mut body = vec![0; length];
    r.read_exact(&mut body).ok()?;
    Some(body)
}

fn read_chunked(r: &mut impl BufRead) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        r.read_line(&mut line).ok()?;
        let size = line.trim().split(';').next()?;
        let n = usize::from_str_radix(size, 16).ok()?;
        if n == 0 {
            // Trailers, up to the empty line.
            loop {
                line.clear();
                if r.read_line(&mut line).ok()? == 0 || line.trim().is_empty() {
                    return Some(body);
                }
            }
        }
        let mut chunk = vec![0; n + 2];
        r.read_exact(&mut chunk).ok()?;
        body.extend_from_slice(&chunk[..n]);
    }
}
