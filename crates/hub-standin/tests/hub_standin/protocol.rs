//! The stand-in's own answers, read with a raw TCP client.

use hub_standin::{Fault, FaultKind, FileSpec, Hub, Listener};
use std::io::{Read, Write};
use std::net::TcpStream;

/// Sends one request; returns (status, headers, body) as far as it got.
fn request(
    base: &str,
    method: &str,
    path: &str,
    extra: &[(&str, &str)],
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let addr = base.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\n");
    for (k, v) in extra {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let body = raw[split + 4..].to_vec();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (status, headers, body)
}

fn header<'a>(h: &'a [(String, String)], name: &str) -> Option<&'a str> {
    h.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn hub_with_file() -> (Hub, Vec<u8>, String) {
    let hub = Hub::start().unwrap();
    let data: Vec<u8> = (0..100_000u32).map(|i| (i % 253) as u8).collect();
    let commit = hub.commit(
        "org/m",
        "main",
        vec![
            ("m.gguf", FileSpec::lfs(data.clone())),
            ("README.md", FileSpec::plain(b"hi".to_vec())),
        ],
    );
    (hub, data, commit)
}

#[test]
fn lfs_head_is_a_cross_origin_302_carrying_sha256_etag_size_and_commit() {
    let (hub, data, commit) = hub_with_file();
    let (status, h, _) = request(&hub.endpoint(), "HEAD", "/org/m/resolve/main/m.gguf", &[]);
    assert_eq!(status, 302);
    let sha = FileSpec::lfs(data.clone()).sha256();
    assert_eq!(
        header(&h, "x-linked-etag"),
        Some(format!("\"{sha}\"").as_str())
    );
    assert_eq!(header(&h, "x-linked-size"), Some("100000"));
    assert_eq!(header(&h, "x-repo-commit"), Some(commit.as_str()));
    assert!(
        header(&h, "location")
            .unwrap()
            .starts_with(&hub.cdn_endpoint())
    );
}

#[test]
fn plain_file_has_sha1_etag_and_body_from_the_hub() {
    let (hub, _, _) = hub_with_file();
    let (status, h, body) = request(&hub.endpoint(), "GET", "/org/m/resolve/main/README.md", &[]);
    assert_eq!(status, 200);
    assert_eq!(body, b"hi");
    // git hash-object of "hi" (no newline)
    assert_eq!(
        header(&h, "etag"),
        Some("\"32f95c0d1244a78b2be1bab8de17906fabb2c4a8\"")
    );
}

#[test]
fn range_request_is_answered_206_with_content_range() {
    let (hub, data, _) = hub_with_file();
    let path = Hub::cdn_path(&FileSpec::lfs(data.clone()));
    let (status, h, body) = request(
        &hub.cdn_endpoint(),
        "GET",
        &path,
        &[("Range", "bytes=99000-")],
    );
    assert_eq!(status, 206);
    assert_eq!(
        header(&h, "content-range"),
        Some("bytes 99000-99999/100000")
    );
    assert_eq!(body, &data[99_000..]);
    assert_eq!(hub.body_bytes(&path), 1000);
}

#[test]
fn errors_carry_x_error_code() {
    let (hub, _, commit) = hub_with_file();
    let code = |p: &str, extra: &[(&str, &str)]| {
        let (s, h, _) = request(&hub.endpoint(), "HEAD", p, extra);
        (
            s,
            header(&h, "x-error-code").map(str::to_string),
            header(&h, "x-repo-commit").map(str::to_string),
        )
    };
    assert_eq!(
        code("/org/none/resolve/main/m.gguf", &[]).1.as_deref(),
        Some("RepoNotFound")
    );
    assert_eq!(
        code("/org/m/resolve/nope/m.gguf", &[]).1.as_deref(),
        Some("RevisionNotFound")
    );
    let (s, c, rc) = code("/org/m/resolve/main/x.gguf", &[]);
    assert_eq!(
        (s, c.as_deref(), rc),
        (404, Some("EntryNotFound"), Some(commit))
    );
    hub.gate("org/m", "tok");
    assert_eq!(
        code("/org/m/resolve/main/m.gguf", &[]),
        (401, Some("GatedRepo".into()), None)
    );
    assert_eq!(
        code(
            "/org/m/resolve/main/m.gguf",
            &[("Authorization", "Bearer bad")]
        )
        .0,
        403
    );
    assert_eq!(
        code(
            "/org/m/resolve/main/m.gguf",
            &[("Authorization", "Bearer tok")]
        )
        .0,
        302
    );
}

#[test]
fn faults_fire_the_given_number_of_times() {
    let (hub, data, _) = hub_with_file();
    let path = Hub::cdn_path(&FileSpec::lfs(data.clone()));
    hub.inject(
        Fault::new(FaultKind::Status {
            status: 503,
            retry_after: Some(2),
        })
        .on(Listener::Cdn)
        .times(1),
    );
    hub.inject(
        Fault::new(FaultKind::DropAfter(1000))
            .on(Listener::Cdn)
            .times(1),
    );
    hub.inject(
        Fault::new(FaultKind::IgnoreRange)
            .on(Listener::Cdn)
            .times(1),
    );
    let (s, h, _) = request(&hub.cdn_endpoint(), "GET", &path, &[]);
    assert_eq!((s, header(&h, "retry-after")), (503, Some("2")));
    let (s, h, body) = request(&hub.cdn_endpoint(), "GET", &path, &[]);
    assert_eq!(
        (s, header(&h, "content-length"), body.len()),
        (200, Some("100000"), 1000)
    );
    let (s, _, body) = request(&hub.cdn_endpoint(), "GET", &path, &[("Range", "bytes=10-")]);
    assert_eq!((s, body.len()), (200, 100_000));
    let (s, _, body) = request(&hub.cdn_endpoint(), "GET", &path, &[("Range", "bytes=10-")]);
    assert_eq!((s, body.len()), (206, 99_990));
}

#[test]
fn listing_api_reports_siblings_and_tree_entries() {
    let (hub, data, commit) = hub_with_file();
    let (s, _, body) = request(
        &hub.endpoint(),
        "GET",
        "/api/models/org/m/revision/main",
        &[],
    );
    assert_eq!(s, 200);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["sha"], commit);
    assert_eq!(v["siblings"].as_array().unwrap().len(), 2);
    let (_, _, body) = request(&hub.endpoint(), "GET", "/api/models/org/m/tree/main", &[]);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let gguf = v
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["path"] == "m.gguf")
        .unwrap();
    assert_eq!(gguf["lfs"]["oid"], FileSpec::lfs(data).sha256());
    assert_eq!(gguf["size"], 100_000);
}
