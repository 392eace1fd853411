//! Routing: what the Hub and its CDN answer to one request.

use crate::Shared;
use crate::fault::{FaultKind, Listener, take};
use crate::http::{Request, Response};
use crate::repo::StoredFile;
use percent_encoding::percent_decode_str;
use serde_json::json;
use std::sync::Arc;

fn decode(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// Answers one request on `listener`.
pub(crate) fn handle(shared: &Shared, listener: Listener, req: &Request) -> Response {
    let path = decode(&req.raw_path);
    let fault = take(&mut shared.lock_faults(), listener, &req.method, &path);
    if let Some(FaultKind::Status {
        status,
        retry_after,
    }) = &fault
    {
        let mut r = Response::new(*status).text(format!("injected {status}"));
        if let Some(s) = retry_after {
            r = r.header("Retry-After", s.to_string());
        }
        return finish(r, req);
    }
    if let Some(FaultKind::RedirectTo(location)) = &fault {
        return finish(Response::new(302).header("Location", location.clone()), req);
    }
    if let Some(FaultKind::HugeHeader(len)) = &fault {
        return finish(
            Response::new(200)
                .header("X-Padding", "a".repeat(*len))
                .text("huge header"),
            req,
        );
    }
    if fault == Some(FaultKind::RedirectLoop) {
        return finish(
            Response::new(302).header("Location", req.raw_path.clone()),
            req,
        );
    }
    if req.method != "GET" && req.method != "HEAD" {
        return finish(Response::new(405).text("method not allowed"), req);
    }
    let mut resp = match listener {
        Listener::Cdn => cdn(shared, req, fault.as_ref()),
        Listener::Hub => hub(shared, req, fault.as_ref()),
    };
    if resp.rate.is_none() {
        resp.rate = shared.connection_rate();
    }
    finish(resp, req)
}

fn finish(mut resp: Response, req: &Request) -> Response {
    resp.head_only = req.method == "HEAD";
    resp
}

fn not_found(code: &str, message: &str) -> Response {
    Response::new(404)
        .header("X-Error-Code", code)
        .header("X-Error-Message", message)
        .header("Content-Type", "application/json")
        .text(json!({ "error": message }).to_string())
}

fn cdn(shared: &Shared, req: &Request, fault: Option<&FaultKind>) -> Response {
    let Some(sha) = req.raw_path.strip_prefix("/lfs/") else {
        return Response::new(404).text("no such object");
    };
    let file = shared.lock_lfs().get(sha).cloned();
    match file {
        Some(file) => content(&file, req, fault),
        None => Response::new(404).text("no such object"),
    }
}

fn hub(shared: &Shared, req: &Request, fault: Option<&FaultKind>) -> Response {
    if let Some(rest) = req.raw_path.strip_prefix("/api/models/") {
        return api(shared, rest, req);
    }
    let Some((repo_raw, rest)) = req.raw_path[1..].split_once("/resolve/") else {
        return Response::new(404).text("not found");
    };
    let repo_id = decode(repo_raw);
    let Some((rev_raw, file_raw)) = rest.split_once('/') else {
        return not_found("EntryNotFound", "no file in the URL");
    };
    let (revision, filename) = (decode(rev_raw), decode(file_raw));
    if let Some(new_id) = shared.lock_aliases().get(&repo_id) {
        return Response::new(307).header(
            "Location",
            format!("/{new_id}/resolve/{rev_raw}/{file_raw}"),
        );
    }
    let repos = shared.lock_repos();
    let Some(repo) = repos.get(&repo_id) else {
        return not_found("RepoNotFound", "Repository not found");
    };
    if let Some(denied) = gate(repo.token.as_deref(), req) {
        return denied;
    }
    let Some(commit) = repo.resolve(&revision).map(str::to_string) else {
        return not_found("RevisionNotFound", "Invalid rev id");
    };
    let with_commit = |r: Response| {
        if fault == Some(&FaultKind::NoRepoCommit) {
            r
        } else if let Some(FaultKind::RepoCommit(sent)) = fault {
            r.header("X-Repo-Commit", sent.clone())
        } else {
            r.header("X-Repo-Commit", commit.clone())
        }
    };
    let Some(file) = repo
        .commits
        .get(&commit)
        .and_then(|c| c.files.get(&filename))
        .cloned()
    else {
        return with_commit(not_found("EntryNotFound", "Entry not found"));
    };
    drop(repos);
    if file.lfs {
        let location = format!("{}/lfs/{}", shared.cdn_base, file.sha256);
        let r = Response::new(302)
            .header("ETag", format!("\"{}\"", file.git_oid))
            .header("X-Linked-Etag", format!("\"{}\"", file.sha256))
            .header("X-Linked-Size", file.content.len().to_string())
            .header("Location", location)
            .text("Found. Redirecting");
        with_commit(r)
    } else {
        with_commit(content(&file, req, fault))
    }
}

/// 401/403 `GatedRepo` unless the request carries the repo's token.
fn gate(token: Option<&str>, req: &Request) -> Option<Response> {
    let want = token?;
    let sent = req
        .header("authorization")
        .and_then(|v| v.strip_prefix("Bearer "));
    let status = match sent {
        Some(t) if t == want => return None,
        Some(_) => 403,
        None => 401,
    };
    Some(
        Response::new(status)
            .header("X-Error-Code", "GatedRepo")
            .header("X-Error-Message", "Access to this model is restricted")
            .text("gated"),
    )
}

/// A file body, honouring `Range: bytes=N-` / `bytes=N-M` with 206.
fn content(file: &Arc<StoredFile>, req: &Request, fault: Option<&FaultKind>) -> Response {
    let len = file.content.len();
    let mut resp = Response::new(200)
        .header("ETag", format!("\"{}\"", file.etag()))
        .header("Accept-Ranges", "bytes")
        .header("Content-Type", "application/octet-stream");
    let range = req
        .header("range")
        .filter(|_| fault != Some(&FaultKind::IgnoreRange));
    let (mut start, mut end) = (0usize, len);
    if let Some(spec) = range.and_then(|r| r.strip_prefix("bytes=")) {
        let (a, b) = spec.split_once('-').unwrap_or((spec, ""));
        let first = a.trim().parse::<usize>().ok();
        let last = b.trim().parse::<usize>().ok();
        match first {
            Some(f) if f < len => {
                start = f;
                end = last.map_or(len, |l| (l + 1).min(len));
                resp.status = 206;
                // A lying server: the bytes asked for, labelled one byte later.
                let shown = start + usize::from(fault == Some(&FaultKind::WrongContentRange));
                resp = resp.header(
                    "Content-Range",
                    format!("bytes {shown}-{}/{len}", (end - 1).max(shown)),
                );
            }
            _ => {
                return Response::new(416).header("Content-Range", format!("bytes */{len}"));
            }
        }
    }
    match fault {
        Some(FaultKind::Truncate(n)) => end = end.min(start + *n as usize),
        Some(FaultKind::DropAfter(n)) => resp.drop_after = Some(*n),
        Some(FaultKind::Slow {
            before_headers,
            per_chunk,
        }) => {
            resp.before_headers = *before_headers;
            resp.per_chunk = *per_chunk;
        }
        Some(FaultKind::Throttle(rate)) => resp.rate = Some((*rate).max(1)),
        Some(FaultKind::Trickle { bytes, every }) => {
            resp.chunk = Some(*bytes);
            resp.per_chunk = *every;
        }
        _ => {}
    }
    if fault == Some(&FaultKind::WrongBytes) && end > start {
        let mut bytes = file.content[start..end].to_vec();
        bytes[0] ^= 0xff;
        resp.body = bytes;
    } else {
        resp.shared = Some((file.content.clone(), start, end));
    }
    resp
}

/// `/api/models/{repo}/revision/{rev}` and `/api/models/{repo}/tree/{rev}[/{path}]`.
fn api(shared: &Shared, rest: &str, req: &Request) -> Response {
    let (repo_raw, kind, tail) = if let Some((r, t)) = rest.split_once("/revision/") {
        (r, "revision", t)
    } else if let Some((r, t)) = rest.split_once("/tree/") {
        (r, "tree", t)
    } else {
        return Response::new(404).text("not found");
    };
    let repo_id = decode(repo_raw);
    let (rev_raw, sub) = tail.split_once('/').unwrap_or((tail, ""));
    let revision = decode(rev_raw);
    let sub = decode(sub);
    let repos = shared.lock_repos();
    let Some(repo) = repos.get(&repo_id) else {
        return not_found("RepoNotFound", "Repository not found");
    };
    if let Some(denied) = gate(repo.token.as_deref(), req) {
        return denied;
    }
    let Some(sha) = repo.resolve(&revision) else {
        return not_found("RevisionNotFound", "Invalid rev id");
    };
    let files = &repo.commits[sha].files;
    let body = if kind == "revision" {
        let siblings: Vec<_> = files.keys().map(|p| json!({ "rfilename": p })).collect();
        json!({
            "_id": sha, "id": repo_id, "modelId": repo_id, "sha": sha,
            "private": false, "gated": if repo.token.is_some() { json!("manual") } else { json!(false) },
            "siblings": siblings,
        })
    } else {
        let recursive = req.query.contains("recursive=true") || req.query.contains("recursive=1");
        json!(tree(files, &sub, recursive))
    };
    Response::new(200)
        .header("Content-Type", "application/json")
        .header("X-Repo-Commit", sha.to_string())
        .text(body.to_string())
}

fn tree(
    files: &std::collections::BTreeMap<String, Arc<StoredFile>>,
    sub: &str,
    recursive: bool,
) -> Vec<serde_json::Value> {
    let prefix = if sub.is_empty() {
        String::new()
    } else {
        format!("{}/", sub.trim_end_matches('/'))
    };
    let mut out = Vec::new();
    let mut dirs = std::collections::BTreeSet::new();
    for (path, f) in files {
        let Some(rel) = path.strip_prefix(&prefix) else {
            continue;
        };
        if let (false, Some((dir, _))) = (recursive, rel.split_once('/')) {
            if dirs.insert(dir.to_string()) {
                let p = format!("{prefix}{dir}");
                out.push(json!({ "type": "directory", "oid": crate::repo::git_blob_sha1(p.as_bytes()), "size": 0, "path": p }));
            }
            continue;
        }
        let mut entry =
            json!({ "type": "file", "oid": f.git_oid, "size": f.content.len(), "path": path });
        if f.lfs {
            entry["lfs"] = json!({ "oid": f.sha256, "size": f.content.len(), "pointerSize": 134 });
        }
        out.push(entry);
    }
    out
}
