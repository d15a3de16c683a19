//! Measures file uploads against a running Parley in open mode: how many uploads of a
//! given size per second it stores and acknowledges, in MB/s, with latency percentiles.
//!
//! ```sh
//! parley --listen 127.0.0.1:5000 --data-dir /tmp/up --auth open --rate-limit 0 &
//! cargo run --release --example upload_bench -- [url] [bytes per file] [uploads] [in parallel]
//! ```
//! (defaults: `http://127.0.0.1:5000`, 1 MiB, 200, 4). Every file is different (so each
//! is stored, not found already there), and not an image (no thumbnail is made).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type BenchResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

fn main() -> BenchResult<()> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .unwrap_or_else(|| "http://127.0.0.1:5000".to_owned());
    let mut number = |default: usize| -> BenchResult<usize> {
        Ok(args
            .next()
            .map(|a| a.parse())
            .transpose()?
            .unwrap_or(default))
    };
    let size = number(1024 * 1024)?;
    let uploads = number(200)?;
    let parallel = number(4)?.max(1);
    let address = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();

    let timings = Arc::new(Mutex::new(Vec::with_capacity(uploads)));
    let started = Instant::now();
    let workers: Vec<_> = (0..parallel)
        .map(|worker| {
            let (address, timings) = (address.clone(), Arc::clone(&timings));
            std::thread::spawn(move || -> BenchResult<()> {
                for n in (worker..uploads).step_by(parallel) {
                    let body = file_body(n, size);
                    let sent = Instant::now();
                    upload(&address, n, &body)?;
                    let took = sent.elapsed();
                    timings.lock().map_err(|_| "a worker panicked")?.push(took);
                }
                Ok(())
            })
        })
        .collect();
    for worker in workers {
        worker.join().map_err(|_| "a worker panicked")??;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let mut timings = timings.lock().map_err(|_| "a worker panicked")?.clone();
    timings.sort();
    let at = |q: f64| ms(timings[((timings.len() - 1) as f64 * q) as usize]);
    println!(
        "{uploads} uploads of {size} bytes, {parallel} at a time: {:.1} uploads/s, {:.1} MB/s; \
         latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        uploads as f64 / elapsed,
        (uploads * size) as f64 / elapsed / 1e6,
        at(0.5),
        at(0.99),
        at(1.0)
    );
    Ok(())
}

/// A file's bytes, different for every `n`.
fn file_body(n: usize, size: usize) -> Vec<u8> {
    let mut state = (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..size)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// One raw-body upload; fails unless the server answers 201.
fn upload(address: &str, n: usize, body: &[u8]) -> BenchResult<()> {
    let mut stream = TcpStream::connect(address)?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let head = format!(
        "POST /api/rooms/bench/files?name=file-{n}.bin&sender=bench HTTP/1.1\r\nHost: {address}\r\n\
         Content-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer)?;
    let status = String::from_utf8_lossy(&answer[..answer.len().min(12)]).into_owned();
    if !status.contains(" 201") {
        return Err(format!("upload {n} answered {status:?}").into());
    }
    Ok(())
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
