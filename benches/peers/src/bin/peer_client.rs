//! `peer_client ADDR N`: N sequential `GET /hello` over one keep-alive
//! HTTP/1.1 connection (plain `std::net`), each answer read whole and its
//! status checked: 200, or 500 too when `PEER_ERROR_EVERY` is set. Exits
//! non-zero on anything else. What `callgrind.sh` drives the server with, so
//! the count of requests the server handles is exact.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::exit;

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(addr), Some(n)) = (args.next(), args.next()) else {
        eprintln!("usage: peer_client ADDR N");
        exit(2);
    };
    let Ok(n) = n.parse::<u64>() else {
        eprintln!("N must be a whole number, got {n:?}");
        exit(2);
    };
    let errors_allowed = std::env::var("PEER_ERROR_EVERY").is_ok_and(|v| !v.trim().is_empty());
    let stream =
        TcpStream::connect(&addr).unwrap_or_else(|e| fail(&format!("connect {addr}: {e}")));
    stream.set_nodelay(true).ok();
    let mut writer = stream.try_clone().expect("clone stream");
    let mut reader = BufReader::new(stream);
    // What wrk sends: the request line and `Host`, nothing else.
    let request = format!("GET /hello HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    let (mut ok, mut failed) = (0u64, 0u64);
    for i in 1..=n {
        writer
            .write_all(request.as_bytes())
            .unwrap_or_else(|e| fail(&format!("request {i}: write: {e}")));
        match read_response(&mut reader) {
            Ok(200) => ok += 1,
            Ok(500) if errors_allowed => failed += 1,
            Ok(status) => fail(&format!("request {i}: status {status}")),
            Err(e) => fail(&format!("request {i}: {e}")),
        }
    }
    eprintln!("peer_client: {n} requests, {ok} × 200, {failed} × 500");
}

fn fail(message: &str) -> ! {
    eprintln!("peer_client: {message}");
    exit(1);
}

/// Reads one response (status line, headers, a `Content-Length` or chunked
/// body) and returns its status.
fn read_response(reader: &mut impl BufRead) -> Result<u16, String> {
    let mut line = String::new();
    read_line(reader, &mut line)?;
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| format!("bad status line {line:?}"))?;
    let (mut length, mut chunked) = (None, false);
    loop {
        read_line(reader, &mut line)?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':').unwrap_or((header, ""));
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = Some(
                value
                    .parse::<usize>()
                    .map_err(|_| format!("bad length {value:?}"))?,
            );
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.eq_ignore_ascii_case("chunked");
        }
    }
    if chunked {
        loop {
            read_line(reader, &mut line)?;
            let size = line.trim_end().split(';').next().unwrap_or("");
            let size =
                usize::from_str_radix(size, 16).map_err(|_| format!("bad chunk size {size:?}"))?;
            skip(reader, size)?;
            read_line(reader, &mut line)?; // the CRLF after the chunk
            if size == 0 {
                break;
            }
        }
    } else {
        skip(reader, length.ok_or("no Content-Length and not chunked")?)?;
    }
    Ok(status)
}

fn read_line(reader: &mut impl BufRead, line: &mut String) -> Result<(), String> {
    line.clear();
    match reader.read_line(line) {
        Ok(0) => Err("connection closed".into()),
        Ok(_) => Ok(()),
        Err(e) => Err(format!("read: {e}")),
    }
}

fn skip(reader: &mut impl BufRead, n: usize) -> Result<(), String> {
    let mut body = vec![0; n];
    reader
        .read_exact(&mut body)
        .map_err(|e| format!("read body: {e}"))
}
