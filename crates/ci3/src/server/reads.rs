//! Reading objects back: one streamed from a blocking store read with the length the store
//! gives up front, small ones whole, many at once; entries past their expiry read as absent.

use std::cell::Cell;
use std::io::{self, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

use super::reply::{self, Response};
use super::{expiry, Ctx};
use crate::error::{Error, Kind, Result};
use crate::store::Store;

/// Chunks of an answer in flight between the store read and the connection, and the most one
/// chunk holds: a store hands over whole ranges (8 MiB from S3), and queued whole, eight of
/// them were 64 MiB of a slow client's answer held in the server.
const IN_FLIGHT: usize = 8;
const CHUNK: usize = 256 << 10;
/// Concurrent reads of one request's many small objects.
const READERS: usize = 16;

/// What the start of an object decides.
enum Head {
    Absent,
    Found(u64),
}

/// How an object is served.
pub struct Serve {
    pub content_type: &'static str,
    /// Strip the expiry header (and read an expired entry as absent).
    pub expiring: bool,
    /// HEAD: the headers only.
    pub head: bool,
}

/// Answers with the object `name`, streamed, or with `missing` when there is none.
pub async fn object(ctx: &Arc<Ctx>, name: String, how: Serve, missing: Response) -> Response {
    let (head_tx, head_rx) = oneshot::channel();
    let (tx, rx) = mpsc::channel(IN_FLIGHT);
    let (ctx2, now) = (ctx.clone(), ctx.now());
    let (expiring, head_only) = (how.expiring, how.head);
    let task = tokio::task::spawn_blocking(move || {
        let total = Cell::new(None);
        let mut out = Streamer {
            head_tx: Some(head_tx),
            tx,
            total: &total,
            pending: Vec::new(),
            expiring,
            head_only,
            now,
            stopped: false,
        };
        let found = ctx2
            .store
            .get_sized(&name, &mut |n| total.set(Some(n)), &mut out);
        out.finish(found).map_err(|e| (name, e))
    });
    match head_rx.await {
        Ok(Head::Absent) => missing,
        Ok(Head::Found(len)) => reply::streamed(how.content_type, len, (!how.head).then_some(rx)),
        Err(_) => match task.await {
            Ok(Err((name, e))) => ctx.failed(&format!("read {name}"), &e),
            Ok(Ok(())) => reply::store_failed(),
            Err(e) => ctx.failed("read", &Error::new(Kind::Failed, e.to_string())),
        },
    }
}

/// The writer a store read goes into: holds back the first bytes until the expiry header is
/// read, then says the answer's head once and passes the rest on.
struct Streamer<'a> {
    head_tx: Option<oneshot::Sender<Head>>,
    tx: mpsc::Sender<io::Result<Bytes>>,
    total: &'a Cell<Option<u64>>,
    pending: Vec<u8>,
    expiring: bool,
    head_only: bool,
    now: u64,
    /// The head is said and nothing more is wanted (expired, or a HEAD).
    stopped: bool,
}

impl Streamer<'_> {
    fn decide(&mut self) {
        let Some(head_tx) = self.head_tx.take() else {
            return;
        };
        let mut skip = 0;
        if self.expiring {
            match expiry::of(&self.pending) {
                Some(at) if at <= self.now => {
                    let _ = head_tx.send(Head::Absent);
                    self.stopped = true;
                    return;
                }
                Some(_) => skip = expiry::LEN,
                None => {}
            }
        }
        let total = self.total.get().unwrap_or(self.pending.len() as u64);
        let _ = head_tx.send(Head::Found(total.saturating_sub(skip as u64)));
        if self.head_only {
            self.stopped = true;
            return;
        }
        let rest = std::mem::take(&mut self.pending);
        let _ = self.send(&rest[skip..]);
    }

    /// Passes `bytes` on in chunks of at most `CHUNK`; an error when the client went away.
    fn send(&self, bytes: &[u8]) -> io::Result<()> {
        for chunk in bytes.chunks(CHUNK) {
            self.tx
                .blocking_send(Ok(Bytes::copy_from_slice(chunk)))
                .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))?;
        }
        Ok(())
    }

    /// After the store read: a head not said yet is said now, a failure after it ends the body.
    fn finish(mut self, found: Result<bool>) -> Result<()> {
        match found {
            Ok(false) if self.head_tx.is_some() => {
                let _ = self.head_tx.take().expect("unsent").send(Head::Absent);
                Ok(())
            }
            Ok(_) => {
                self.decide();
                Ok(())
            }
            Err(_) if self.stopped => Ok(()),
            Err(e) if self.head_tx.is_some() => Err(e),
            Err(e) => {
                let _ = self.tx.blocking_send(Err(io::Error::other(e.to_string())));
                Ok(())
            }
        }
    }
}

impl Write for Streamer<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.stopped {
            return Err(io::Error::other("nothing more wanted"));
        }
        if self.head_tx.is_some() {
            self.pending.extend_from_slice(buf);
            if !self.expiring || self.pending.len() >= expiry::LEN {
                self.decide();
            }
            return Ok(buf.len());
        }
        self.send(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A small object's content at `now` (expiry header stripped); `None` when absent or expired.
/// An object over `cap` bytes is a store failure: no route writes one.
pub fn small(store: &dyn Store, name: &str, now: u64, cap: u64) -> Result<Option<Vec<u8>>> {
    let mut buf = Capped(Vec::new(), cap + expiry::LEN as u64);
    if !store.get(name, &mut buf)? {
        return Ok(None);
    }
    Ok(expiry::live(&buf.0, now).map(<[u8]>::to_vec))
}

/// Whether the object is there and unexpired, reading no more than its header.
pub fn live(store: &dyn Store, name: &str, now: u64) -> Result<bool> {
    let mut buf = Capped(Vec::new(), expiry::LEN as u64);
    match store.get(name, &mut buf) {
        Ok(found) => Ok(found && expiry::live(&buf.0, now).is_some()),
        // The read stopped at the header, as asked.
        Err(_) if buf.0.len() == expiry::LEN => Ok(expiry::live(&buf.0, now).is_some()),
        Err(e) => Err(e),
    }
}

/// `read` of each name, `READERS` at a time, in the names' order.
pub fn many<T: Send>(names: &[String], read: impl Fn(&str) -> Result<T> + Sync) -> Result<Vec<T>> {
    let next = AtomicUsize::new(0);
    let results: Vec<Mutex<Option<Result<T>>>> = names.iter().map(|_| Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..READERS.min(names.len()) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(name) = names.get(i) else { break };
                let result = read(name);
                let failed = result.is_err();
                *results[i].lock().expect("result") = Some(result);
                if failed {
                    // One failure fails the request: the others need not be read.
                    next.store(names.len(), Ordering::Relaxed);
                }
            });
        }
    });
    let mut out = Vec::with_capacity(names.len());
    let mut abandoned = false;
    for slot in results {
        match slot.into_inner().expect("result") {
            Some(result) => out.push(result?),
            // Left for another read's failure, which a later slot holds.
            None => abandoned = true,
        }
    }
    if abandoned {
        return Err(Error::new(Kind::Store, "reads abandoned"));
    }
    Ok(out)
}

/// A writer keeping at most `.1` bytes, failing past them.
struct Capped(Vec<u8>, u64);

impl Write for Capped {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let room = (self.1 as usize).saturating_sub(self.0.len());
        if buf.len() > room {
            self.0.extend_from_slice(&buf[..room]);
            return Err(io::Error::other(format!("larger than {} bytes", self.1)));
        }
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a store's 8 MiB range becomes between the read and the connection: chunks of at
    /// most `CHUNK`, so a slow client holds at most `IN_FLIGHT` of them in the server.
    #[test]
    fn a_large_write_goes_on_in_small_chunks() {
        let (head_tx, head_rx) = oneshot::channel();
        let (tx, mut rx) = mpsc::channel::<io::Result<Bytes>>(IN_FLIGHT);
        let total = Cell::new(Some(16 << 20));
        let reader = std::thread::spawn(move || {
            let mut sizes = Vec::new();
            while let Some(chunk) = rx.blocking_recv() {
                sizes.push(chunk.unwrap().len());
            }
            sizes
        });
        let mut out = Streamer {
            head_tx: Some(head_tx),
            tx,
            total: &total,
            pending: Vec::new(),
            expiring: false,
            head_only: false,
            now: 0,
            stopped: false,
        };
        let range = vec![1u8; 8 << 20];
        out.write_all(&range).unwrap();
        out.write_all(&range).unwrap();
        out.finish(Ok(true)).unwrap();
        assert!(matches!(head_rx.blocking_recv(), Ok(Head::Found(n)) if n == 16 << 20));
        let sizes = reader.join().unwrap();
        assert_eq!(sizes.iter().sum::<usize>(), 16 << 20);
        assert_eq!(sizes.iter().max(), Some(&CHUNK), "{sizes:?}");
    }
}
