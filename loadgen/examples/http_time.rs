//! Times one HTTP request asked again and again over one keep-alive connection: the query
//! bench's client (`bench/query.py`), for Hydrant and OpenSearch alike.
//!
//! A Python client spends 0.1–0.2 ms of its own on each request (building it, parsing the
//! answer's head), as much as the whole of a small search; this one writes the request in one
//! write on a blocking socket and reads the answer whole, so what it times is the server and
//! the loopback connection. (reqwest would add its runtime's task wake-ups to every timing.)
//!
//! Usage: `http_time URL CONTENT_TYPE RUNS WARMUPS < BODY`
//! (POSTs BODY to URL, `http://host:port/path?query`, RUNS + WARMUPS times) and prints one JSON
//! object: `ms`, each timed run in milliseconds; `server_ms`, each answer's `Server-Timing`
//! duration where it has one; `status`, the last answer's status.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Instant;

type Error = Box<dyn std::error::Error>;

/// One answer: its status and the server's own time.
struct Answer {
    status: u16,
    server_ms: Option<f64>,
}

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, content_type, runs, warmups] = args.as_slice() else {
        return Err("usage: http_time URL CONTENT_TYPE RUNS WARMUPS < BODY".into());
    };
    let (runs, warmups): (usize, usize) = (runs.parse()?, warmups.parse()?);
    let rest = url
        .strip_prefix("http://")
        .ok_or("only http:// URLs are timed")?;
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    let mut body = Vec::new();
    std::io::stdin().read_to_end(&mut body)?;
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(&body);

    let mut conn = TcpStream::connect(host)?;
    conn.set_nodelay(true)?;
    // A stalled server fails the run rather than hanging it.
    conn.set_read_timeout(Some(std::time::Duration::from_secs(300)))?;
    let mut buf = Vec::with_capacity(64 << 10);
    let (mut ms, mut server_ms, mut status) = (Vec::new(), Vec::new(), 0);
    for i in 0..runs + warmups {
        let started = Instant::now();
        conn.write_all(&request)?;
        let answer = read_answer(&mut conn, &mut buf)?;
        let took = started.elapsed().as_secs_f64() * 1000.0;
        status = answer.status;
        if !(200..300).contains(&status) {
            let text = String::from_utf8_lossy(&buf);
            return Err(format!("{url} answered {status}: {text}").into());
        }
        if i >= warmups {
            ms.push(took);
            server_ms.extend(answer.server_ms);
        }
    }
    println!(
        "{}",
        serde_json::json!({"ms": ms, "server_ms": server_ms, "status": status})
    );
    Ok(())
}

/// Reads one answer whole into `buf` (head and body; the body's length from `Content-Length`).
fn read_answer(conn: &mut TcpStream, buf: &mut Vec<u8>) -> Result<Answer, Error> {
    buf.clear();
    let mut chunk = [0u8; 64 << 10];
    loop {
        let n = conn.read(&mut chunk)?;
        if n == 0 {
            return Err("the server closed the connection".into());
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut head = httparse::Response::new(&mut headers);
        let httparse::Status::Complete(head_len) = head.parse(buf)? else {
            continue;
        };
        let header = |name: &str| {
            head.headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case(name))
                .and_then(|h| std::str::from_utf8(h.value).ok())
        };
        let len: usize = header("content-length")
            .ok_or("an answer without Content-Length (chunked answers are not timed)")?
            .trim()
            .parse()?;
        let server_ms = header("server-timing")
            .and_then(|v| v.split("dur=").nth(1))
            .and_then(|v| v.split([';', ',']).next())
            .and_then(|v| v.trim().parse().ok());
        let status = head.code.unwrap_or(0);
        while buf.len() < head_len + len {
            let n = conn.read(&mut chunk)?;
            if n == 0 {
                return Err("the server closed the connection mid-answer".into());
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        return Ok(Answer { status, server_ms });
    }
}
