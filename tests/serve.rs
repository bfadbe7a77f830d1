//! `publish serve`: loopback by default, only files under the output folder (traversal → 404),
//! content types, a taken port said clearly, and live reload in headless Chromium.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(60);

/// A new book (from `publish new`) and a `publish serve` on a free port; returns the base URL.
struct Served {
    _tmp: tempfile::TempDir,
    book: PathBuf,
    child: Child,
    _lines: mpsc::Receiver<String>,
    base: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(extra: &[&str]) -> Served {
    let tmp = tempfile::tempdir().unwrap();
    let book = tmp.path().join("book");
    common::publish().arg("new").arg(&book).assert().success();
    std::fs::write(tmp.path().join("secret.txt"), "secret").unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_publish"))
        .current_dir(&book)
        .env("SOURCE_DATE_EPOCH", "1790000000")
        .args(["serve", "--format", "html,epub", "--port", "0"])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let mut base = None;
    // Wait for the address and the first build.
    loop {
        let line = lines
            .recv_timeout(WAIT)
            .unwrap_or_else(|_| panic!("serve did not start: {seen:?}"));
        if let Some(rest) = line.strip_prefix("serving ") {
            base = rest.split_whitespace().next().map(str::to_owned);
        }
        let built = line.starts_with("first build:");
        seen.push(line);
        if built {
            break;
        }
    }
    let base = base.unwrap_or_else(|| panic!("no address printed: {seen:?}"));
    Served {
        _tmp: tmp,
        book,
        child,
        _lines: lines,
        base,
    }
}

/// A raw HTTP/1.0 GET of `path` exactly as given (no client-side normalisation).
fn get(base: &str, path: &str) -> (u16, String, Vec<u8>) {
    let addr = base.trim_start_matches("http://").trim_end_matches('/');
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    let split = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&buf[..split]).into_owned();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, head, buf[split + 4..].to_vec())
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

#[test]
fn serves_only_the_output_folder_on_loopback() {
    let s = serve(&[]);
    assert!(
        s.base.starts_with("http://127.0.0.1:"),
        "default bind: {}",
        s.base
    );
    let (status, head, body) = get(&s.base, "/html/part-1.html");
    assert_eq!(status, 200);
    assert_eq!(
        header(&head, "Content-Type"),
        Some("text/html; charset=utf-8")
    );
    let body = String::from_utf8(body).unwrap();
    assert!(body.contains("/__publish/events"), "no live-reload script");
    // The script is added by the server only, never written to output/.
    let on_disk = std::fs::read_to_string(s.book.join("output/html/part-1.html")).unwrap();
    assert!(!on_disk.contains("__publish"));
    let (status, head, _) = get(&s.base, "/book.epub");
    assert_eq!(status, 200);
    assert_eq!(header(&head, "Content-Type"), Some("application/epub+zip"));
    assert!(header(&head, "Content-Disposition").is_some_and(|v| v.starts_with("attachment")));
    let (_, head, _) = get(&s.base, "/html/search.js");
    assert_eq!(
        header(&head, "Content-Type"),
        Some("text/javascript; charset=utf-8")
    );
    for bad in [
        "/../secret.txt",
        "/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E/%2e%2e/secret.txt",
        "/html/..%2f..%2fsecret.txt",
        "/html/%2e%2e/%2e%2e/secret.txt",
        "/..%5csecret.txt",
        "//etc/passwd",
        "/%2fetc%2fpasswd",
        "/../publish.toml",
        "/%2e%2e/sources/part-1.txt",
    ] {
        let (status, _, body) = get(&s.base, bad);
        assert_eq!(status, 404, "{bad}");
        assert!(!String::from_utf8_lossy(&body).contains("secret"), "{bad}");
    }
    // A symlink inside the output folder that points out of it is not followed.
    #[cfg(unix)]
    {
        let secret = s.book.parent().unwrap().join("secret.txt");
        std::os::unix::fs::symlink(&secret, s.book.join("output/link.txt")).unwrap();
        assert_eq!(get(&s.base, "/link.txt").0, 404);
    }
}

#[test]
fn a_taken_port_is_said_clearly() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let tmp = tempfile::tempdir().unwrap();
    let book = tmp.path().join("book");
    common::publish().arg("new").arg(&book).assert().success();
    let out = common::publish()
        .current_dir(&book)
        .args(["serve", "--format", "html", "--port", &port])
        .timeout(WAIT)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&port) && stderr.contains("--port"),
        "{stderr}"
    );
}

#[test]
fn an_open_page_shows_an_edit_without_a_manual_reload() {
    let Some(puppeteer) = common::puppeteer_and_chromium() else {
        return;
    };
    let s = serve(&[]);
    let marker = "نص أضافه المحرر الآن";
    let script = common::root().join("tests/serve/live-reload.js");
    let out = Command::new("node")
        .arg(&script)
        .arg(format!("{}html/part-1.html", s.base))
        .arg(s.book.join("sources/part-1.txt"))
        .arg(marker)
        .env("PUPPETEER_CORE", &puppeteer)
        .env("PUPPETEER_EXECUTABLE_PATH", "/usr/bin/chromium")
        .output()
        .unwrap();
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("ok"),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
