//! `publish serve`: `watch` plus a local HTTP server for the outputs. It serves only regular
//! files under the output folder, injects a live-reload script into HTML pages as it sends
//! them (never into `output/`), and tells open pages over Server-Sent Events which outputs a
//! rebuild changed, so a page reloads — keeping its scroll position — only when it changed.

use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Write;
use std::net::IpAddr;
use std::path::{Component, Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The default port; when it is taken, the next free one (up to [`PORT_TRIES`]) is used.
pub const DEFAULT_PORT: u16 = 3000;
/// How many ports after the default are tried when it is taken.
pub const PORT_TRIES: u16 = 20;
/// The most live-reload connections served at once (each holds a thread).
pub const MAX_EVENT_CLIENTS: usize = 64;
/// Largest file the server sends (outputs are far smaller; anything bigger is not ours).
pub const MAX_FILE_BYTES: u64 = 1 << 30;
/// The path of the event stream and of the PDF viewer page: not a file name `publish` writes.
pub const EVENTS_PATH: &str = "/__publish/events";
/// The page that shows the PDF and reloads it when it changes.
pub const PDF_VIEW_PATH: &str = "/__publish/pdf";

/// The script added before `</body>` of every HTML page the server sends. On a `change` event
/// that names this page (or the PDF the viewer shows) it fetches the page again and, when only
/// its `<main>` changed (an edit inside the part: the usual case), puts the new content in place
/// without a reload — the scroll position and the page's scripts stay; otherwise (a new
/// sidebar, a new style sheet) it saves the scroll position and reloads.
const RELOAD_SCRIPT: &str = r#"<script>
(function () {
  var key = "publish-scroll:" + location.pathname;
  var y = sessionStorage.getItem(key);
  if (y !== null) {
    sessionStorage.removeItem(key);
    var restore = function () { window.scrollTo(0, +y); };
    if (document.readyState === "complete") restore(); else window.addEventListener("load", restore);
  }
  var watched = document.documentElement.getAttribute("data-publish-watch") || location.pathname;
  var canSwap = !document.documentElement.hasAttribute("data-publish-watch");
  // The page as the server sent it, to tell what an edit changed.
  var sent = null;
  function load() {
    return fetch(location.pathname, { cache: "no-store" }).then(function (r) {
      if (!r.ok) throw new Error(r.status);
      return r.text();
    });
  }
  // [body outside <main>, <main>…</main>] of a page's text, or null.
  function split(html) {
    var h = html.indexOf("</head>"), a = html.indexOf("<main"), b = html.lastIndexOf("</main>");
    if (h < 0 || a < h || b < a) return null;
    return [html.slice(h, a) + html.slice(b), html.slice(a, b)];
  }
  function reload() {
    sessionStorage.setItem(key, String(window.scrollY));
    location.reload();
  }
  function swap(html) {
    var before = sent && split(sent), after = split(html);
    var doc = new DOMParser().parseFromString(html, "text/html");
    var old = document.querySelector("main"), now = doc.querySelector("main");
    if (!before || !after || before[0] !== after[0] || !old || !now) return false;
    var top = window.scrollY;
    var oa = old.querySelector("article"), na = now.querySelector("article");
    var rest = function (m) { return m.replace(/<article[\s\S]*<\/article>/, ""); };
    if (oa && na && rest(before[1]) === rest(after[1])) {
      oa.innerHTML = na.innerHTML;
    } else {
      old.replaceWith(document.importNode(now, true));
    }
    document.title = doc.title;
    window.scrollTo(0, top);
    var n = +(document.documentElement.getAttribute("data-publish-swaps") || 0);
    document.documentElement.setAttribute("data-publish-swaps", String(n + 1));
    return true;
  }
  var es = new EventSource("/__publish/events");
  es.addEventListener("open", function () {
    if (canSwap && sent === null) load().then(function (t) { sent = t; }, function () {});
    document.documentElement.setAttribute("data-publish-live", "");
  });
  es.addEventListener("change", function (e) {
    var changed = JSON.parse(e.data);
    // The site's own style sheets and scripts (not the search index's data files).
    var style = changed.some(function (p) {
      return /\.css$/.test(p) || (/\.js$/.test(p) && p.indexOf("/search/") < 0);
    });
    if (changed.indexOf(watched) < 0 && !style) return;
    if (!canSwap || style || sent === null) return reload();
    load().then(function (t) {
      if (swap(t)) sent = t; else reload();
    }, reload);
  });
})();
</script>
"#;

/// What identifies a file's bytes without reading them: inode, size, modification and change
/// times. A build replaces a changed file by a new one and hard-links an unchanged one, so an
/// equal stamp is the same bytes.
type Stamp = (u64, u64, i64, i64, i64, i64);

/// The stamp of a file, where the platform gives one.
fn stamp(meta: &std::fs::Metadata) -> Option<Stamp> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        Some((
            meta.ino(),
            meta.len(),
            meta.mtime(),
            meta.mtime_nsec(),
            meta.ctime(),
            meta.ctime_nsec(),
        ))
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        None
    }
}

/// A file's content hash, with the stamp it was read under.
type Hashed = ([u8; 32], Option<Stamp>);

/// Which output files changed in the last rebuild, for the event stream.
struct Hub {
    /// Content hash of every file under the output folder after the last build.
    hashes: BTreeMap<String, Hashed>,
    /// One sender per open event stream; dropped when its page goes away.
    clients: Vec<mpsc::Sender<String>>,
}

/// The server's shared state: the output folder and the live-reload hub.
#[derive(Clone)]
pub struct Server {
    root: PathBuf,
    pdf_name: Arc<Mutex<Option<String>>>,
    hub: Arc<Mutex<Hub>>,
}

/// Hash every regular file under `dir` (not following symlinks), keyed by URL path. A file
/// whose stamp is the one in `known` keeps its hash unread: after an edit, only the few files
/// the build wrote are read.
fn hash_tree(dir: &Path, known: &BTreeMap<String, Hashed>) -> BTreeMap<String, Hashed> {
    let mut out = BTreeMap::new();
    // An explicit stack, not recursion: the depth of the output folder is not ours to trust.
    let mut stack = vec![(dir.to_path_buf(), String::new())];
    while let Some((path, url)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&path) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let child = format!("{url}/{name}");
            if kind.is_dir() {
                stack.push((entry.path(), child));
            } else if kind.is_file() {
                let now = entry.metadata().ok().as_ref().and_then(stamp);
                if let Some((hash, Some(was))) = known.get(&child)
                    && now == Some(*was)
                {
                    out.insert(child, (*hash, now));
                } else if let Ok(bytes) = std::fs::read(entry.path()) {
                    out.insert(child, (Sha256::digest(&bytes).into(), now));
                }
            }
        }
    }
    out
}

impl Server {
    /// A server for the files under `root` (the output folder).
    pub fn new(root: PathBuf) -> Server {
        let hashes = hash_tree(&root, &BTreeMap::new());
        Server {
            root,
            pdf_name: Arc::new(Mutex::new(None)),
            hub: Arc::new(Mutex::new(Hub {
                hashes,
                clients: Vec::new(),
            })),
        }
    }

    /// After a build: find the output files that changed and tell every open page. Returns the
    /// URL paths that changed. `pdf` is the PDF's file name, when one was written.
    pub fn announce(&self, pdf: Option<String>) -> Vec<String> {
        if let Some(pdf) = pdf
            && let Ok(mut name) = self.pdf_name.lock()
        {
            *name = Some(pdf);
        }
        let Ok(mut hub) = self.hub.lock() else {
            return Vec::new();
        };
        let hashes = hash_tree(&self.root, &hub.hashes);
        let mut changed: Vec<String> = hashes
            .iter()
            .filter(|(k, v)| hub.hashes.get(*k).map(|h| h.0) != Some(v.0))
            .map(|(k, _)| k.clone())
            .chain(
                hub.hashes
                    .keys()
                    .filter(|k| !hashes.contains_key(*k))
                    .cloned(),
            )
            .collect();
        // Pages are also reached by their folder (`/html/` is `/html/index.html`).
        let dirs: Vec<String> = changed
            .iter()
            .filter_map(|p| p.strip_suffix("index.html").map(str::to_owned))
            .collect();
        changed.extend(dirs);
        changed.sort();
        hub.hashes = hashes;
        if !changed.is_empty() {
            let data = serde_json::to_string(&changed).unwrap_or_else(|_| "[]".into());
            hub.clients.retain(|c| c.send(data.clone()).is_ok());
        }
        changed
    }

    /// Serve requests from `server` until it is unblocked; each request gets its own thread,
    /// so an open event stream never holds up other requests.
    pub fn run(&self, server: Arc<tiny_http::Server>) {
        for request in server.incoming_requests() {
            let this = self.clone();
            std::thread::spawn(move || this.handle(request));
        }
    }

    fn handle(&self, request: tiny_http::Request) {
        let url = request.url().to_owned();
        let path = url.split(['?', '#']).next().unwrap_or("/").to_owned();
        if *request.method() != tiny_http::Method::Get
            && *request.method() != tiny_http::Method::Head
        {
            let _ = request.respond(tiny_http::Response::empty(405));
            return;
        }
        if path == EVENTS_PATH {
            self.events(request);
            return;
        }
        if path == "/" {
            let to = if self.root.join("html").join("index.html").is_file() {
                "/html/index.html"
            } else {
                PDF_VIEW_PATH
            };
            let _ = request
                .respond(tiny_http::Response::empty(302).with_header(header("Location", to)));
            return;
        }
        if path == PDF_VIEW_PATH {
            let name = self
                .pdf_name
                .lock()
                .ok()
                .and_then(|n| n.clone())
                .unwrap_or_else(|| "book.pdf".into());
            let page = format!(
                "<!DOCTYPE html>\n<html lang=\"en\" data-publish-watch=\"/{name}\"><head><meta charset=\"utf-8\"><title>{name}</title>\
                 <style>html,body{{margin:0;height:100%}}iframe{{border:0;width:100%;height:100%}}</style></head>\
                 <body><iframe src=\"/{name}\" title=\"{name}\"></iframe></body></html>\n"
            );
            respond_html(request, page.into_bytes());
            return;
        }
        let Some(file) = self.resolve(&path) else {
            let _ = request.respond(
                tiny_http::Response::from_string("not found\n")
                    .with_status_code(404)
                    .with_header(header("Content-Type", "text/plain; charset=utf-8")),
            );
            return;
        };
        let Ok(bytes) = std::fs::read(&file) else {
            let _ = request.respond(tiny_http::Response::empty(404));
            return;
        };
        let ext = file
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        if ext == "html" || ext == "htm" {
            respond_html(request, bytes);
            return;
        }
        let mut response = tiny_http::Response::from_data(bytes)
            .with_header(header("Content-Type", content_type(&ext)))
            .with_header(header("Cache-Control", "no-store"))
            .with_header(header("X-Content-Type-Options", "nosniff"));
        if ext == "epub" {
            let name = file.file_name().map(|n| n.to_string_lossy().into_owned());
            let name = name.unwrap_or_else(|| "book.epub".into());
            response = response.with_header(header(
                "Content-Disposition",
                &format!("attachment; filename=\"{}\"", name.replace('"', "")),
            ));
        }
        let _ = request.respond(response);
    }

    /// The file a URL path names, if it is a regular file inside the output folder: decoded
    /// once; `..`, `.`, empty and backslash components, NUL, and anything that resolves (through
    /// symlinks) outside the folder are refused.
    pub fn resolve(&self, url_path: &str) -> Option<PathBuf> {
        let decoded = percent_decode(url_path)?;
        let rel = decoded.strip_prefix('/')?;
        let mut path = self.root.clone();
        let trailing_slash = rel.is_empty() || rel.ends_with('/');
        for part in rel.split('/').filter(|p| !p.is_empty()) {
            if part == "." || part == ".." || part.contains(['\\', '\0']) {
                return None;
            }
            let c = Path::new(part).components().next()?;
            if !matches!(c, Component::Normal(_)) {
                return None;
            }
            path.push(part);
        }
        if trailing_slash || path.is_dir() {
            path.push("index.html");
        }
        let root = self.root.canonicalize().ok()?;
        let real = path.canonicalize().ok()?;
        if !real.starts_with(&root) {
            return None;
        }
        let meta = std::fs::metadata(&real).ok()?;
        (meta.is_file() && meta.len() <= MAX_FILE_BYTES).then_some(real)
    }

    /// A Server-Sent Events stream: one `change` event per rebuild that changed outputs.
    fn events(&self, request: tiny_http::Request) {
        let (tx, rx) = mpsc::channel();
        {
            let Ok(mut hub) = self.hub.lock() else { return };
            hub.clients.retain(|c| c.send(String::new()).is_ok());
            if hub.clients.len() >= MAX_EVENT_CLIENTS {
                drop(hub);
                let _ = request.respond(tiny_http::Response::empty(503));
                return;
            }
            hub.clients.push(tx);
        }
        // Written straight to the socket: tiny_http would buffer a streamed body into chunks,
        // and an event must reach the page at once.
        let mut w = request.into_writer();
        let head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n\
                    Connection: keep-alive\r\n\r\nretry: 1000\n\n";
        if w.write_all(head.as_bytes())
            .and_then(|_| w.flush())
            .is_err()
        {
            return;
        }
        loop {
            let chunk = match rx.recv_timeout(Duration::from_secs(15)) {
                Ok(data) if data.is_empty() => continue,
                Ok(data) => format!("event: change\ndata: {data}\n\n"),
                // A comment line now and then finds pages that went away: the write fails.
                Err(mpsc::RecvTimeoutError::Timeout) => ": keep-alive\n\n".to_owned(),
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            };
            if w.write_all(chunk.as_bytes())
                .and_then(|_| w.flush())
                .is_err()
            {
                return;
            }
        }
    }
}

fn header(name: &str, value: &str) -> tiny_http::Header {
    tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes())
        .expect("header names and values here are ASCII")
}

/// Send an HTML page with the live-reload script added before `</body>` (or at the end).
fn respond_html(request: tiny_http::Request, mut bytes: Vec<u8>) {
    let at = bytes
        .windows(7)
        .rposition(|w| w.eq_ignore_ascii_case(b"</body>"))
        .unwrap_or(bytes.len());
    bytes.splice(at..at, RELOAD_SCRIPT.bytes());
    let response = tiny_http::Response::from_data(bytes)
        .with_header(header("Content-Type", "text/html; charset=utf-8"))
        .with_header(header("Cache-Control", "no-store"));
    let _ = request.respond(response);
}

/// The content type for a file extension (lower case).
pub fn content_type(ext: &str) -> &'static str {
    match ext {
        "html" | "htm" => "text/html; charset=utf-8",
        "xhtml" => "application/xhtml+xml; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "txt" => "text/plain; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "ttf" => "font/ttf",
        "otf" => "font/otf",
        "pdf" => "application/pdf",
        "epub" => "application/epub+zip",
        _ => "application/octet-stream",
    }
}

/// Decode `%XX` escapes once; `None` for malformed escapes or a result that is not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Bind the server: `port` if given (a taken port is an error that says so), else the first
/// free port from [`DEFAULT_PORT`]. Returns the server and the port it listens on.
pub fn bind(host: IpAddr, port: Option<u16>) -> Result<(tiny_http::Server, u16), crate::Error> {
    let ports: Vec<u16> = match port {
        Some(p) => vec![p],
        None => (DEFAULT_PORT..DEFAULT_PORT + PORT_TRIES).collect(),
    };
    let mut last = String::new();
    for p in ports {
        match tiny_http::Server::http((host, p)) {
            Ok(s) => {
                let bound = s.server_addr().to_ip().map(|a| a.port()).unwrap_or(p);
                return Ok((s, bound));
            }
            Err(e) => last = format!("{host}:{p}: {e}"),
        }
    }
    Err(crate::Error::Usage(match port {
        Some(p) => format!(
            "cannot listen on {host}:{p} ({last}): the port is probably taken by another program; pick another with --port"
        ),
        None => format!(
            "cannot listen on ports {DEFAULT_PORT}–{} of {host} ({last}); pick one with --port",
            DEFAULT_PORT + PORT_TRIES - 1
        ),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traversal_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("out/html")).unwrap();
        std::fs::write(dir.path().join("out/html/index.html"), "x").unwrap();
        std::fs::write(dir.path().join("secret.txt"), "s").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(
            dir.path().join("secret.txt"),
            dir.path().join("out/link.txt"),
        )
        .unwrap();
        let s = Server::new(dir.path().join("out"));
        assert!(s.resolve("/html/index.html").is_some());
        assert!(s.resolve("/html/").is_some());
        for bad in [
            "/../secret.txt",
            "/%2e%2e/secret.txt",
            "/%2E%2E%2fsecret.txt",
            "/html/..%2f..%2fsecret.txt",
            "//etc/passwd",
            "/link.txt",
            "/html/%00",
            "/..\\secret.txt",
            "/%zz",
        ] {
            assert_eq!(s.resolve(bad), None, "{bad}");
        }
    }
}
